//! Memory layout helpers for whole-record arrays.

/// Sample-major `[rows, cols]` to channel-major `[cols, rows]`, in cache-sized tiles.
pub fn transpose(src: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 64;
    let mut dst = vec![0.0f32; rows * cols];
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for r in r0..r1 {
                let row = &src[r * cols..(r + 1) * cols];
                for c in c0..c1 {
                    dst[c * rows + r] = row[c];
                }
            }
        }
    }
    dst
}
