//! Space colonization (after Runions et al.): attraction points pull the nearest branch node within an
//! influence radius; each influenced node grows one step toward the mean direction of its attractors;
//! attractors within the kill distance of a node are removed. Grid-accelerated and fully deterministic
//! (ties broken by index, everything visited in index order).

use crate::math;
use crate::rng::Rng;

#[derive(Clone, Debug)]
pub struct Node {
    pub x: f64,
    pub y: f64,
    pub parent: Option<usize>,
    /// Which tree (soma) the node belongs to.
    pub tree: usize,
    pub children: u8,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub influence: f64,
    pub kill: f64,
    pub step: f64,
    /// Weight of the parent segment's direction in a new step (0: none; smoother branches when larger).
    pub inertia: f64,
    /// Standard deviation of the random angle added to each step (radians).
    pub jitter: f64,
    pub max_iterations: usize,
    pub max_nodes: usize,
    pub max_children: u8,
}

/// Uniform grid of indices over a square [0, extent)^2; cells clamp at the borders.
struct Grid {
    cell: f64,
    n: usize,
    cells: Vec<Vec<usize>>,
}

impl Grid {
    fn new(extent: f64, cell: f64) -> Self {
        let n = ((extent / cell).ceil() as usize).max(1);
        Grid {
            cell,
            n,
            cells: vec![Vec::new(); n * n],
        }
    }
    fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        let c = |v: f64| ((v / self.cell).floor().max(0.0) as usize).min(self.n - 1);
        (c(x), c(y))
    }
    fn insert(&mut self, x: f64, y: f64, id: usize) {
        let (i, j) = self.cell_of(x, y);
        self.cells[j * self.n + i].push(id);
    }
}

/// Grows the trees from `nodes` (their roots and any pre-grown stems) toward `attractors`.
/// Returns the number of iterations run.
pub fn grow(
    nodes: &mut Vec<Node>,
    attractors: &[(f64, f64)],
    extent: f64,
    s: &Settings,
    rng: &mut Rng,
) -> usize {
    let cell = (s.influence / 4.0).max(1.0);
    let mut grid = Grid::new(extent, cell);
    for (k, nd) in nodes.iter().enumerate() {
        grid.insert(nd.x, nd.y, k);
    }
    let mut alive: Vec<bool> = vec![true; attractors.len()];
    // Kill attractors already covered by the initial nodes.
    kill_near(&grid, nodes, attractors, &mut alive, 0, s.kill);
    let rings = (s.influence / cell).ceil() as i64 + 1;
    let mut iterations = 0;
    for _ in 0..s.max_iterations {
        iterations += 1;
        // Each live attractor finds its nearest node within the influence radius.
        let mut pull: Vec<(f64, f64, u32)> = vec![(0.0, 0.0, 0); nodes.len()];
        let inf2 = s.influence * s.influence;
        for (a, &(ax, ay)) in attractors.iter().enumerate() {
            if !alive[a] {
                continue;
            }
            let (ci, cj) = grid.cell_of(ax, ay);
            let mut best: Option<(f64, usize)> = None;
            for r in 0..=rings {
                // Any node in ring r is at least (r-1)*cell away: stop once that exceeds the best found.
                let ring_min = ((r - 1).max(0) as f64) * cell;
                if let Some((d2, _)) = best {
                    if ring_min * ring_min > d2 {
                        break;
                    }
                }
                if ring_min * ring_min > inf2 {
                    break;
                }
                for j in (cj as i64 - r)..=(cj as i64 + r) {
                    for i in (ci as i64 - r)..=(ci as i64 + r) {
                        let on_ring = (j - cj as i64).abs() == r || (i - ci as i64).abs() == r;
                        if !on_ring || i < 0 || j < 0 || i >= grid.n as i64 || j >= grid.n as i64 {
                            continue;
                        }
                        for &k in &grid.cells[j as usize * grid.n + i as usize] {
                            let (dx, dy) = (nodes[k].x - ax, nodes[k].y - ay);
                            let d2 = dx * dx + dy * dy;
                            if d2 < inf2
                                && best.is_none_or(|(bd, bk)| d2 < bd || (d2 == bd && k < bk))
                            {
                                best = Some((d2, k));
                            }
                        }
                    }
                }
            }
            if let Some((d2, k)) = best {
                let d = math::sqrt(d2).max(1e-9);
                pull[k].0 += (ax - nodes[k].x) / d;
                pull[k].1 += (ay - nodes[k].y) / d;
                pull[k].2 += 1;
            }
        }
        let first_new = nodes.len();
        for k in 0..first_new {
            let (px, py, count) = pull[k];
            if count == 0 || nodes[k].children >= s.max_children || nodes.len() >= s.max_nodes {
                continue;
            }
            let l = math::hypot(px, py);
            if l < 1e-6 {
                continue;
            }
            let (mut dx, mut dy) = (px / l, py / l);
            if let Some(par) = nodes[k].parent {
                let (qx, qy) = (nodes[k].x - nodes[par].x, nodes[k].y - nodes[par].y);
                let ql = math::hypot(qx, qy);
                if ql > 1e-9 {
                    dx += s.inertia * qx / ql;
                    dy += s.inertia * qy / ql;
                }
            }
            let a = math::atan2(dy, dx) + rng.normal() * s.jitter;
            let (nx, ny) = (
                nodes[k].x + math::cos(a) * s.step,
                nodes[k].y + math::sin(a) * s.step,
            );
            if nx < 0.0 || ny < 0.0 || nx >= extent || ny >= extent {
                continue;
            }
            // Avoid stacking a second child onto an existing one (a node pulled the same way twice).
            let (ci, cj) = grid.cell_of(nx, ny);
            let mut crowded = false;
            for j in cj.saturating_sub(1)..=(cj + 1).min(grid.n - 1) {
                for i in ci.saturating_sub(1)..=(ci + 1).min(grid.n - 1) {
                    for &o in &grid.cells[j * grid.n + i] {
                        let (ex, ey) = (nodes[o].x - nx, nodes[o].y - ny);
                        if o != k && ex * ex + ey * ey < 0.16 * s.step * s.step {
                            crowded = true;
                        }
                    }
                }
            }
            if crowded {
                continue;
            }
            nodes[k].children += 1;
            let tree = nodes[k].tree;
            nodes.push(Node {
                x: nx,
                y: ny,
                parent: Some(k),
                tree,
                children: 0,
            });
            grid.insert(nx, ny, nodes.len() - 1);
        }
        if nodes.len() == first_new {
            break;
        }
        kill_near(&grid, nodes, attractors, &mut alive, first_new, s.kill);
    }
    iterations
}

/// Removes attractors within `kill` of any node with index >= `from`.
fn kill_near(
    grid: &Grid,
    nodes: &[Node],
    attractors: &[(f64, f64)],
    alive: &mut [bool],
    from: usize,
    kill: f64,
) {
    // Bucket live attractors near new nodes: scan attractors once, check nodes in the cells around them.
    let k2 = kill * kill;
    let reach = (kill / grid.cell).ceil() as i64;
    for (a, &(ax, ay)) in attractors.iter().enumerate() {
        if !alive[a] {
            continue;
        }
        let (ci, cj) = grid.cell_of(ax, ay);
        'search: for j in (cj as i64 - reach).max(0)..=(cj as i64 + reach).min(grid.n as i64 - 1) {
            for i in (ci as i64 - reach).max(0)..=(ci as i64 + reach).min(grid.n as i64 - 1) {
                for &k in &grid.cells[j as usize * grid.n + i as usize] {
                    if k < from {
                        continue;
                    }
                    let (dx, dy) = (nodes[k].x - ax, nodes[k].y - ay);
                    if dx * dx + dy * dy < k2 {
                        alive[a] = false;
                        break 'search;
                    }
                }
            }
        }
    }
}

/// Branch thickness by the pipe model: leaves have `leaf`, a parent has (sum of children^gamma)^(1/gamma).
/// Parents always have smaller indices than their children.
pub fn pipe_widths(nodes: &[Node], leaf: f64, gamma: f64) -> Vec<f64> {
    let mut acc = vec![0.0f64; nodes.len()];
    let mut w = vec![0.0f64; nodes.len()];
    for k in (0..nodes.len()).rev() {
        w[k] = if acc[k] == 0.0 {
            leaf
        } else {
            math::pow(acc[k], 1.0 / gamma)
        };
        if let Some(p) = nodes[k].parent {
            acc[p] += math::pow(w[k], gamma);
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            influence: 60.0,
            kill: 6.0,
            step: 3.0,
            inertia: 0.3,
            jitter: 0.0,
            max_iterations: 400,
            max_nodes: 20000,
            max_children: 3,
        }
    }

    #[test]
    fn grows_toward_attractors_and_consumes_them() {
        let mut nodes = vec![Node {
            x: 100.0,
            y: 100.0,
            parent: None,
            tree: 0,
            children: 0,
        }];
        let attractors = vec![(150.0, 100.0), (100.0, 140.0)];
        let mut rng = Rng::new(1);
        grow(&mut nodes, &attractors, 300.0, &settings(), &mut rng);
        for &(ax, ay) in &attractors {
            let nearest = nodes
                .iter()
                .map(|n| math::hypot(n.x - ax, n.y - ay))
                .fold(f64::INFINITY, f64::min);
            assert!(
                nearest < 6.0,
                "attractor ({ax},{ay}) reached: nearest node {nearest}"
            );
        }
        // every non-root node is one step from its parent
        for n in &nodes[1..] {
            let p = &nodes[n.parent.unwrap()];
            assert!((math::hypot(n.x - p.x, n.y - p.y) - 3.0).abs() < 1e-9);
        }
        // the tree branched: two attractors in different directions
        assert!(nodes.iter().any(|n| n.children >= 2));
    }

    #[test]
    fn out_of_reach_attractors_are_ignored() {
        let mut nodes = vec![Node {
            x: 10.0,
            y: 10.0,
            parent: None,
            tree: 0,
            children: 0,
        }];
        let attractors = vec![(250.0, 250.0)];
        grow(
            &mut nodes,
            &attractors,
            300.0,
            &settings(),
            &mut Rng::new(1),
        );
        assert_eq!(nodes.len(), 1);
    }

    #[test]
    fn deterministic_for_a_seed() {
        let mut r = Rng::new(4);
        let attractors: Vec<(f64, f64)> = (0..400)
            .map(|_| (r.range(0.0, 300.0), r.range(0.0, 300.0)))
            .collect();
        let run = || {
            let mut nodes = vec![Node {
                x: 150.0,
                y: 150.0,
                parent: None,
                tree: 0,
                children: 0,
            }];
            let mut s = settings();
            s.jitter = 0.2;
            grow(&mut nodes, &attractors, 300.0, &s, &mut Rng::new(9));
            nodes
                .iter()
                .map(|n| (n.x.to_bits(), n.y.to_bits()))
                .collect::<Vec<_>>()
        };
        let a = run();
        assert!(a.len() > 100, "grew {} nodes", a.len());
        assert_eq!(a, run());
    }

    #[test]
    fn pipe_model_thickens_toward_root() {
        // root 0 -> 1 -> (2, 3)
        let n = |parent| Node {
            x: 0.0,
            y: 0.0,
            parent,
            tree: 0,
            children: 0,
        };
        let nodes = vec![n(None), n(Some(0)), n(Some(1)), n(Some(1))];
        let w = pipe_widths(&nodes, 1.0, 2.0);
        assert_eq!(w[2], 1.0);
        assert_eq!(w[3], 1.0);
        assert!((w[1] - 2f64.sqrt()).abs() < 1e-12);
        assert!((w[0] - w[1]).abs() < 1e-12);
    }
}
