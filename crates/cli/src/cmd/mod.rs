pub mod draw;
pub mod gallery;
