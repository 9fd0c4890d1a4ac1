//! What the measuring examples share: percentiles and the report line.

/// The value at `p` (0–1) of `sorted`; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() { f64::NAN } else { sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] }
}

/// Sorts `values` (milliseconds) and prints p50 … max under `name`.
pub fn report(name: &str, values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
    println!(
        "  {name:<24} p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        percentile(values, 0.5),
        percentile(values, 0.9),
        percentile(values, 0.99),
        percentile(values, 0.999),
        values.last().copied().unwrap_or(f64::NAN)
    );
}
