//! The discriminator a run trains against: the official StyleGAN2 one on pixels, or ours on frozen VGG16
//! features ([`bestiary_stylegan::feature_discriminator`]). The loop asks this module for logits and
//! steps whichever it holds; the losses are the same non-saturating logistic ones, with R1 for the feature
//! discriminator taken on the mixtures its heads judge (the backbone and the projections are fixed, so the
//! heads are the whole trainable function there, and no second-order pass goes through VGG16).

use crate::adam::{Adam, AdamStep};
use crate::autodiff::{Ad, Ad2};
use crate::loss::{softplus, Augment, DmainLoss, DregLoss, GmainLoss, Latents, R1Reg, Reals};
use crate::options::CriticKind;
use bestiary_perceptual::Vgg16;
use bestiary_stylegan::{
    Discriminator, FeatureDiscriminator, FeatureDiscriminatorConfig, Generator, SynthesisOptions,
    WeightMap,
};
use burn::module::{AutodiffModule, Module};
use burn::tensor::{backend::Backend, Tensor};

/// VGG16 from the asset cache (fetched on first use; `log` hears about the fetch).
pub fn load_vgg16<B: Backend>(
    device: &B::Device,
    log: &mut dyn FnMut(&str),
) -> Result<Vgg16<B>, String> {
    let path = bestiary_perceptual::vgg16_weights(log).map_err(|e| e.to_string())?;
    Vgg16::load(&path, device).map_err(|e| e.to_string())
}

/// The feature discriminator with its frozen backbone, on both levels the loop needs: autodiff (G's
/// gradient flows through VGG16 into the image) and plain (D's inputs are values).
#[derive(Clone, Debug)]
pub struct FeatureCritic<B: Backend> {
    pub d: FeatureDiscriminator<Ad<B>>,
    pub cfg: FeatureDiscriminatorConfig,
    pub vgg: Vgg16<B>,
    pub vgg_ad: Vgg16<Ad<B>>,
}

impl<B: Backend> FeatureCritic<B> {
    pub fn new(
        d: FeatureDiscriminator<Ad<B>>,
        cfg: FeatureDiscriminatorConfig,
        vgg: Vgg16<B>,
    ) -> Self {
        let vgg_ad = vgg.lift();
        FeatureCritic {
            d,
            cfg,
            vgg,
            vgg_ad,
        }
    }

    /// The mixtures of images that are plain values, lifted as constants for the heads.
    fn mixtures(&self, img: Tensor<B, 4>) -> Vec<Tensor<B, 4>> {
        let inner = self.d.valid();
        inner.project(inner.backbone(&self.vgg, img))
    }
}

/// The discriminator of a run.
#[derive(Clone, Debug)]
pub enum Critic<B: Backend> {
    StyleGan2(Discriminator<Ad<B>>),
    Features(FeatureCritic<B>),
}

impl<B: Backend> Critic<B> {
    pub fn kind(&self) -> CriticKind {
        match self {
            Critic::StyleGan2(_) => CriticKind::StyleGan2,
            Critic::Features(_) => CriticKind::Vgg16,
        }
    }

    /// The StyleGAN2 discriminator, when that is the one in use.
    pub fn stylegan2(&self) -> Option<&Discriminator<Ad<B>>> {
        match self {
            Critic::StyleGan2(d) => Some(d),
            Critic::Features(_) => None,
        }
    }

    /// The trainable network's tensors (for the feature discriminator: projections and heads, never VGG16).
    pub fn state_dict(&self) -> WeightMap {
        match self {
            Critic::StyleGan2(d) => d.state_dict(),
            Critic::Features(f) => f.d.state_dict(),
        }
    }

    /// Element counts of the parameters in visiting order (Adam's indices).
    pub fn param_sizes(&self) -> Vec<usize> {
        match self {
            Critic::StyleGan2(d) => crate::adam::param_sizes(d),
            Critic::Features(f) => crate::adam::param_sizes(&f.d),
        }
    }

    /// One Adam step of the network held.
    pub fn adam_step(
        self,
        opt: &mut Adam<B>,
        grads: &<Ad<B> as burn::tensor::backend::AutodiffBackend>::Gradients,
        hp: AdamStep,
    ) -> Self {
        match self {
            Critic::StyleGan2(d) => Critic::StyleGan2(opt.step(d, grads, hp)),
            Critic::Features(mut f) => {
                f.d = opt.step(f.d, grads, hp);
                Critic::Features(f)
            }
        }
    }

    /// Gmain for either discriminator (see [`crate::loss::gmain_loss`]).
    pub fn gmain_loss(
        &self,
        g: &mut Generator<Ad<B>>,
        lat: &Latents<B>,
        syn: &SynthesisOptions,
        aug: &mut impl Augment,
    ) -> GmainLoss<B> {
        match self {
            Critic::StyleGan2(d) => crate::loss::gmain_loss(g, d, lat, syn, aug),
            Critic::Features(f) => {
                let ws = crate::loss::map_train(g, lat);
                let img = aug.apply(g.synthesis(ws, syn));
                let logits = f.d.clone().no_grad().forward(&f.vgg_ad, img);
                let loss = softplus(logits.clone().neg()).mean();
                GmainLoss {
                    loss,
                    fake_logits: logits.inner(),
                }
            }
        }
    }

    /// Dmain for either discriminator (see [`crate::loss::dmain_loss`]).
    pub fn dmain_loss(
        &self,
        g: &mut Generator<Ad<B>>,
        lat: &Latents<B>,
        reals: &Reals<B>,
        syn: &SynthesisOptions,
        aug: &mut impl Augment,
    ) -> DmainLoss<B> {
        match self {
            Critic::StyleGan2(d) => crate::loss::dmain_loss(g, d, lat, reals, syn, aug),
            Critic::Features(f) => {
                let ws = crate::loss::map_train(g, lat).inner();
                let fake = aug.apply(g.synthesis.valid().forward(ws, syn));
                let real = aug.apply(reals.images.clone());
                let judge = |img| {
                    f.d.judge(
                        f.mixtures(img)
                            .into_iter()
                            .map(Tensor::from_inner)
                            .collect(),
                    )
                };
                let fake_logits = judge(fake);
                let real_logits = judge(real);
                let loss = softplus(fake_logits.clone()).mean()
                    + softplus(real_logits.clone().neg()).mean();
                DmainLoss {
                    loss,
                    fake_logits: fake_logits.inner(),
                    real_logits: real_logits.inner(),
                }
            }
        }
    }

    /// Dreg (R1) for either discriminator: on the pixels for StyleGAN2's ([`crate::loss::dreg_loss`]); on
    /// the mixtures of the augmented reals for the feature discriminator, `sum_taps |d D / d m|^2`.
    pub fn dreg_loss(&self, reals: &Reals<B>, reg: &R1Reg, aug: &mut impl Augment) -> DregLoss<B> {
        match self {
            Critic::StyleGan2(d) => crate::loss::dreg_loss(d, reals, reg, aug),
            Critic::Features(f) => {
                let real = aug.apply(reals.images.clone());
                let (r1, real_logits) = feature_r1(&f.d, f.mixtures(real));
                let loss = r1.clone().mean() * (reg.gamma / 2.0 * reg.gain);
                DregLoss {
                    loss,
                    penalty: r1.inner(),
                    real_logits,
                }
            }
        }
    }
}

/// R1 per sample of the heads with respect to their inputs, `sum_taps |d D(m) / d m|^2`, differentiable
/// w.r.t. the heads (nested autodiff), and the logits (inner values, for the ADA statistics).
pub fn feature_r1<B: Backend>(
    d: &FeatureDiscriminator<Ad<B>>,
    mixed: Vec<Tensor<B, 4>>,
) -> (Tensor<Ad<B>, 1>, Tensor<B, 2>) {
    let n = mixed[0].dims()[0];
    let leaves: Vec<Tensor<Ad2<B>, 4>> = mixed
        .into_iter()
        .map(|m| Tensor::<Ad2<B>, 4>::from_inner(Tensor::from_inner(m)).require_grad())
        .collect();
    let d_o = FeatureDiscriminator::<Ad2<B>>::from_inner(d.clone());
    let logits = d_o.judge(leaves.clone());
    let values = logits.clone().inner().inner();
    let grads = logits.sum().backward();
    let r1 = leaves
        .iter()
        .map(|m| {
            let g: Tensor<Ad<B>, 4> = m.grad(&grads).expect("every mixture reaches a head");
            g.square().sum_dim(3).sum_dim(2).sum_dim(1).reshape([n])
        })
        .reduce(|a, b| a + b)
        .expect("at least one tap");
    (r1, values)
}

/// The largest divisor of `n` not above `cap` (at least 1): a minibatch-stddev group that divides the batch.
pub(crate) fn largest_divisor_at_most(n: usize, cap: usize) -> usize {
    (1..=cap.min(n).max(1))
        .rev()
        .find(|g| n.is_multiple_of(*g))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_divides_the_batch() {
        assert_eq!(largest_divisor_at_most(32, 4), 4);
        assert_eq!(largest_divisor_at_most(6, 4), 3);
        assert_eq!(largest_divisor_at_most(7, 4), 1);
        assert_eq!(largest_divisor_at_most(2, 4), 2);
        assert_eq!(largest_divisor_at_most(0, 4), 1);
    }
}
