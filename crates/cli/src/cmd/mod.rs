pub mod bench;
pub mod convert;
pub mod critic;
pub mod draw;
pub mod gallery;
pub mod generate;
pub mod inspect;
