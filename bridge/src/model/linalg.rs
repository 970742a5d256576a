//! The little dense linear algebra the models need.

/// Solves `a · x = b` for a small square system by Gaussian elimination with partial
/// pivoting. Returns None when the system is singular (to working precision).
pub fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    let scale = a
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= scale * 1e-13 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            if factor != 0.0 {
                for (value, pivot_value) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *value -= factor * pivot_value;
                }
                b[col + 1 + offset] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// [`solve`] without allocating, for systems of at most `M` unknowns: the first `n` rows and
/// columns of `a` and entries of `b` (the same operations in the same order, so the same
/// result to the bit).
pub fn solve_fixed<const M: usize>(
    mut a: [[f64; M]; M],
    mut b: [f64; M],
    n: usize,
) -> Option<[f64; M]> {
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
    fn the_fixed_size_solve_is_the_same_to_the_bit() {
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
                let rows: Vec<Vec<f64>> = a[..n].iter().map(|r| r[..n].to_vec()).collect();
                let expected = solve(rows, b[..n].to_vec());
                let got = solve_fixed(a, b, n).map(|x| x[..n].to_vec());
                assert_eq!(
                    got.map(|x| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>()),
                    expected.map(|x| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
                );
            }
        }
        let singular = [[1.0, 2.0], [2.0, 4.0]];
        assert!(solve_fixed(singular, [1.0, 2.0], 2).is_none());
    }

    #[test]
    fn solves_and_detects_singular() {
        let x = solve(vec![vec![2.0, 1.0], vec![1.0, 3.0]], vec![3.0, 5.0]).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
        assert!(solve(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 2.0]).is_none());
    }
}
