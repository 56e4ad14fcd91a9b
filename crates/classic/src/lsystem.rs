//! Stochastic (probabilistic) L-systems: parallel rewriting where a symbol with several productions picks
//! one with its probability, drawn from our seeded RNG in string order, so expansion is deterministic.

use crate::rng::Rng;

/// One production: the symbol, then (probability weight, replacement) choices.
pub struct Rule {
    pub symbol: char,
    pub choices: &'static [(f64, &'static str)],
}

/// Expands `axiom` `iterations` times, stopping early before the string would exceed `max_len` symbols.
/// Returns the string and the number of iterations actually applied.
pub fn expand(
    axiom: &str,
    rules: &[Rule],
    iterations: usize,
    max_len: usize,
    rng: &mut Rng,
) -> (Vec<char>, usize) {
    let mut cur: Vec<char> = axiom.chars().collect();
    let mut done = 0;
    for _ in 0..iterations {
        let next = rewrite(&cur, rules, rng);
        if next.len() > max_len {
            break;
        }
        cur = next;
        done += 1;
    }
    (cur, done)
}

/// One parallel rewriting step.
pub fn rewrite(s: &[char], rules: &[Rule], rng: &mut Rng) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len() * 3);
    for &c in s {
        match rules.iter().find(|r| r.symbol == c) {
            Some(rule) => {
                let weights: Vec<f64> = rule.choices.iter().map(|(w, _)| *w).collect();
                let k = if weights.len() == 1 {
                    0
                } else {
                    rng.weighted(&weights)
                };
                out.extend(rule.choices[k].1.chars());
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_rewriting() {
        // Algae: A -> AB, B -> A gives Fibonacci lengths.
        let rules = [
            Rule {
                symbol: 'A',
                choices: &[(1.0, "AB")],
            },
            Rule {
                symbol: 'B',
                choices: &[(1.0, "A")],
            },
        ];
        let (s, n) = expand("A", &rules, 6, 1000, &mut Rng::new(1));
        assert_eq!(n, 6);
        assert_eq!(s.len(), 21);
        assert_eq!(s.iter().collect::<String>(), "ABAABABAABAABABAABABA");
    }

    #[test]
    fn stochastic_choices_follow_seed_and_weights() {
        let rules = [Rule {
            symbol: 'X',
            choices: &[(0.75, "a"), (0.25, "b")],
        }];
        let input: Vec<char> = std::iter::repeat('X').take(4000).collect();
        let out = rewrite(&input, &rules, &mut Rng::new(3));
        let a = out.iter().filter(|c| **c == 'a').count();
        assert!((2800..3200).contains(&a), "{a}");
        assert_eq!(out, rewrite(&input, &rules, &mut Rng::new(3)));
        assert_ne!(out, rewrite(&input, &rules, &mut Rng::new(4)));
    }

    #[test]
    fn length_cap_stops_growth() {
        let rules = [Rule {
            symbol: 'F',
            choices: &[(1.0, "FF")],
        }];
        let (s, n) = expand("F", &rules, 30, 100, &mut Rng::new(1));
        assert_eq!(n, 6);
        assert_eq!(s.len(), 64);
    }
}
