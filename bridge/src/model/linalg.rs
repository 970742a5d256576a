//! The little dense linear algebra the models need.

/// Solves `a · x = b` for a small square system of `n ≤ M` unknowns (the first `n` rows and
/// columns of `a` and entries of `b`) by Gaussian elimination with partial pivoting, without
/// allocating. Returns None when the system is singular (to working precision).
#[inline]
pub fn solve<const M: usize>(mut a: [[f64; M]; M], mut b: [f64; M], n: usize) -> Option<[f64; M]> {
    let scale = a[..n]
        .iter()
        .flat_map(|row| &row[..n])
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= scale * 1e-13 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a[..n].split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            if factor != 0.0 {
                for (value, pivot_value) in row[col..n].iter_mut().zip(&pivot_row[col..n]) {
                    *value -= factor * pivot_value;
                }
                b[col + 1 + offset] -= factor * b[col];
            }
        }
    }
    let mut x = [0.0; M];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    x[..n].iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_random_systems_and_ignores_what_lies_beyond_n() {
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 * 10.0 - 3.0
        };
        for n in 1..=4 {
            for _ in 0..200 {
                let mut a = [[f64::NAN; 4]; 4];
                let mut b = [f64::NAN; 4];
                for (row, b) in a.iter_mut().zip(&mut b).take(n) {
                    for value in row.iter_mut().take(n) {
                        *value = next();
                    }
                    *b = next();
                }
                let Some(x) = solve(a, b, n) else { continue };
                for (row, b) in a.iter().zip(&b).take(n) {
                    let lhs: f64 = row[..n].iter().zip(&x[..n]).map(|(a, x)| a * x).sum();
                    assert!((lhs - b).abs() <= 1e-6 * (1.0 + b.abs()), "{lhs} vs {b}");
                }
            }
        }
    }

    #[test]
    fn solves_and_detects_singular() {
        let x = solve([[2.0, 1.0], [1.0, 3.0]], [3.0, 5.0], 2).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
        assert!(solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0], 2).is_none());
    }
}
