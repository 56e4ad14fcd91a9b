//! Mapping network: z (and label c) -> w, with the W moving average and truncation.

use bestiary_nn::{
    buffer, export_tensor, join, normalize_2nd_moment, Activation, FullyConnectedLayer, StateError,
    StateReader, WeightMap,
};
use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Tensor};

use crate::config::MappingConfig;

/// The official `MappingNetwork`.
#[derive(Module, Debug)]
pub struct MappingNetwork<B: Backend> {
    /// Label embedding (`embed`), present when `c_dim > 0`.
    pub embed: Option<FullyConnectedLayer<B>>,
    /// `fc0 .. fc{num_layers-1}`.
    pub fcs: Vec<FullyConnectedLayer<B>>,
    /// Moving average of W (`w_avg` buffer), present when `num_ws` is set and `w_avg_beta` is not None.
    pub w_avg: Option<Param<Tensor<B, 1>>>,
    /// Latent size (0 = no latent).
    pub z_dim: usize,
    /// Label size (0 = no label).
    pub c_dim: usize,
    /// Output size.
    pub w_dim: usize,
    /// Number of W to broadcast to (0 = do not broadcast, as the official `None`).
    pub num_ws: usize,
    /// W moving-average decay.
    pub w_avg_beta: Option<f64>,
}

impl<B: Backend> MappingNetwork<B> {
    /// Official construction and initialisation. `num_ws = None` disables broadcasting (and the
    /// `w_avg` buffer), as in the discriminator's label mapping.
    pub fn new(
        z_dim: usize,
        c_dim: usize,
        w_dim: usize,
        num_ws: Option<usize>,
        cfg: &MappingConfig,
        device: &B::Device,
    ) -> Self {
        let embed_features = if c_dim == 0 {
            0
        } else {
            cfg.embed_features.unwrap_or(w_dim)
        };
        let layer_features = cfg.layer_features.unwrap_or(w_dim);
        let mut features = vec![z_dim + embed_features];
        features.extend(std::iter::repeat_n(layer_features, cfg.num_layers - 1));
        features.push(w_dim);
        let embed = (c_dim > 0).then(|| {
            FullyConnectedLayer::new(
                c_dim,
                embed_features,
                true,
                Activation::Linear,
                1.0,
                0.0,
                device,
            )
        });
        let fcs = (0..cfg.num_layers)
            .map(|i| {
                FullyConnectedLayer::new(
                    features[i],
                    features[i + 1],
                    true,
                    cfg.activation,
                    cfg.lr_multiplier,
                    0.0,
                    device,
                )
            })
            .collect();
        let w_avg = (num_ws.is_some() && cfg.w_avg_beta.is_some())
            .then(|| buffer(Tensor::<B, 1>::zeros([w_dim], device)));
        MappingNetwork {
            embed,
            fcs,
            w_avg,
            z_dim,
            c_dim,
            w_dim,
            num_ws: num_ws.unwrap_or(0),
            w_avg_beta: cfg.w_avg_beta,
        }
    }

    /// z `[N, z_dim]` and c `[N, c_dim]` -> w `[N, w_dim]` (normalization, embedding, layers;
    /// no broadcast, no truncation).
    pub fn forward_w(&self, z: Option<Tensor<B, 2>>, c: Option<Tensor<B, 2>>) -> Tensor<B, 2> {
        let mut x = None;
        if self.z_dim > 0 {
            let z = z.expect("mapping: z is required (z_dim > 0)");
            assert_eq!(z.dims()[1], self.z_dim, "mapping: z has the wrong size");
            x = Some(normalize_2nd_moment(z));
        }
        if self.c_dim > 0 {
            let c = c.expect("mapping: c is required (c_dim > 0)");
            assert_eq!(c.dims()[1], self.c_dim, "mapping: c has the wrong size");
            let y = normalize_2nd_moment(self.embed.as_ref().expect("embed").forward(c));
            x = Some(match x {
                Some(x) => Tensor::cat(vec![x, y], 1),
                None => y,
            });
        }
        let mut x = x.expect("mapping: no input");
        for fc in &self.fcs {
            x = fc.forward(x);
        }
        x
    }

    /// Broadcasts w `[N, w_dim]` to `[N, num_ws, w_dim]`.
    pub fn broadcast(&self, w: Tensor<B, 2>) -> Tensor<B, 3> {
        assert!(self.num_ws > 0, "mapping: num_ws is not set");
        let [n, d] = w.dims();
        w.reshape([n, 1, d]).repeat_dim(1, self.num_ws)
    }

    /// The W moving average (`[w_dim]`).
    pub fn w_avg(&self) -> Option<Tensor<B, 1>> {
        self.w_avg.as_ref().map(|p| p.val())
    }

    /// Truncation: `w_avg.lerp(ws, psi)` for the first `cutoff` ws (all when `None`),
    /// computed as torch.lerp does (`start + psi*(end-start)` for psi < 0.5, else
    /// `end - (end-start)*(1-psi)`).
    pub fn truncate(&self, ws: Tensor<B, 3>, psi: f64, cutoff: Option<usize>) -> Tensor<B, 3> {
        if psi == 1.0 {
            return ws;
        }
        let avg = self
            .w_avg()
            .expect("truncation needs w_avg (w_avg_beta is None)");
        let [n, k, d] = ws.dims();
        let avg: Tensor<B, 3> = avg.reshape([1, 1, d]);
        let lerp = |x: Tensor<B, 3>| -> Tensor<B, 3> {
            let diff = x.clone() - avg.clone();
            if psi < 0.5 {
                avg.clone() + diff * psi
            } else {
                x - diff * (1.0 - psi)
            }
        };
        match cutoff {
            Some(c) if c < k => {
                if c == 0 {
                    return ws;
                }
                let head = lerp(ws.clone().slice([0..n, 0..c, 0..d]));
                let tail = ws.slice([0..n, c..k, 0..d]);
                Tensor::cat(vec![head, tail], 1)
            }
            _ => lerp(ws),
        }
    }

    /// The official forward: z, c -> ws `[N, num_ws, w_dim]` with truncation.
    pub fn forward(
        &self,
        z: Option<Tensor<B, 2>>,
        c: Option<Tensor<B, 2>>,
        psi: f64,
        cutoff: Option<usize>,
    ) -> Tensor<B, 3> {
        let w = self.forward_w(z, c);
        self.truncate(self.broadcast(w), psi, cutoff)
    }

    /// Training-time W average update: `w_avg = mean(w).lerp(w_avg, beta)` (detached).
    pub fn update_w_avg(self, w: Tensor<B, 2>) -> Self {
        let (Some(p), Some(beta)) = (self.w_avg.clone(), self.w_avg_beta) else {
            return self;
        };
        let old = p.val();
        let d = old.dims()[0];
        let mean: Tensor<B, 1> = w.detach().mean_dim(0).reshape([d]);
        // torch.lerp(start=mean, end=old, weight=beta)
        let diff = old.clone() - mean.clone();
        let new = if beta < 0.5 {
            mean + diff * beta
        } else {
            old - diff * (1.0 - beta)
        };
        let new = new.detach();
        MappingNetwork {
            w_avg: Some(Param::initialized(p.id, new).set_require_grad(false)),
            ..self
        }
    }

    /// Loads `prefix.embed.*`, `prefix.fc{i}.*`, `prefix.w_avg`.
    pub fn load(self, r: &mut StateReader, prefix: &str) -> Result<Self, StateError> {
        let embed = match self.embed {
            Some(e) => Some(e.load(r, &join(prefix, "embed"))?),
            None => None,
        };
        let mut fcs = Vec::with_capacity(self.fcs.len());
        for (i, fc) in self.fcs.into_iter().enumerate() {
            fcs.push(fc.load(r, &join(prefix, &format!("fc{i}")))?);
        }
        let w_avg = match self.w_avg {
            Some(p) => Some(r.param(p, &join(prefix, "w_avg"), None)?),
            None => None,
        };
        Ok(MappingNetwork {
            embed,
            fcs,
            w_avg,
            ..self
        })
    }

    /// Exports under the official names.
    pub fn export(&self, out: &mut WeightMap, prefix: &str) {
        if let Some(e) = &self.embed {
            e.export(out, &join(prefix, "embed"));
        }
        for (i, fc) in self.fcs.iter().enumerate() {
            fc.export(out, &join(prefix, &format!("fc{i}")));
        }
        if let Some(p) = &self.w_avg {
            export_tensor(out, &join(prefix, "w_avg"), p.val(), None);
        }
    }
}
