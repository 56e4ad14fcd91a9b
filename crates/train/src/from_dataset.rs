//! Datasets packed by `bestiary dataset` (or the official dataset_tool) as training image sets.

use crate::data::ImageSet;

impl ImageSet for bestiary_dataset::Dataset {
    fn len(&self) -> usize {
        bestiary_dataset::Dataset::len(self)
    }
    fn resolution(&self) -> usize {
        bestiary_dataset::Dataset::resolution(self) as usize
    }
    fn channels(&self) -> usize {
        bestiary_dataset::Dataset::channels(self)
    }
    fn c_dim(&self) -> usize {
        bestiary_dataset::Dataset::c_dim(self)
    }
    fn image(&self, i: usize) -> &[u8] {
        bestiary_dataset::Dataset::image(self, i)
    }
    fn label(&self, i: usize) -> &[f32] {
        bestiary_dataset::Dataset::label(self, i)
    }
}
