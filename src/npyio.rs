//! NPY files exchanged with Python: reading ECoG `[samples, channels]` and writing results.
//!
//! Every error names the file and, for shape problems, the shape found.

use ndarray::{Array2, ArrayView2, ShapeBuilder};
use ndarray_npy::{ReadNpyError, ReadNpyExt, ViewNpyExt, WriteNpyExt};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

/// Errors reading or writing NPY arrays.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file could not be opened or created.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a 2-D float32/float64 NPY array.
    #[error("{path} is not a 2-D float32 or float64 NPY array [samples, channels] ({detail})")]
    Format {
        /// The file.
        path: PathBuf,
        /// What the reader found.
        detail: String,
    },
    /// The array has a shape that cannot be used.
    #[error("{path} has shape [{rows}, {cols}]: {why}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// Rows found.
        rows: usize,
        /// Columns found.
        cols: usize,
        /// What is wrong with it.
        why: String,
    },
    /// Writing failed.
    #[error("cannot write {path}: {detail}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

/// Reads a 2-D float32 or float64 NPY array as f32 `[rows, cols]`, requiring at least
/// `min_rows` rows and one column.
pub fn read_matrix_f32(path: &Path, min_rows: usize) -> Result<Array2<f32>, NpyError> {
    let arr = match std::fs::read(path) {
        // Fast path: view the file's bytes in place (one read and one copy); anything unusual
        // (big-endian, misaligned, wrong type) falls through to the general reader below, which
        // also produces the precise error message.
        Ok(bytes) => match ArrayView2::<f32>::view_npy(&bytes) {
            Ok(v) => Some(v.as_standard_layout().into_owned()),
            Err(_) => ArrayView2::<f64>::view_npy(&bytes)
                .ok()
                .map(|v| v.mapv(|x| x as f32)),
        },
        Err(source) => {
            return Err(NpyError::Open {
                path: path.to_owned(),
                source,
            });
        }
    };
    let arr = match arr {
        Some(a) => a,
        None => read_general(path)?,
    };
    check_shape(path, arr, min_rows)
}

/// Like [`read_matrix_f32`], but the result is stored channel-major (Fortran order): shape
/// `[samples, channels]`, each channel contiguous. Whole-record per-channel processing (offline
/// high gamma) then reads channels in place; this saves a full copy of the record.
pub fn read_matrix_f32_channel_major(
    path: &Path,
    min_rows: usize,
) -> Result<Array2<f32>, NpyError> {
    let bytes = std::fs::read(path).map_err(|source| NpyError::Open {
        path: path.to_owned(),
        source,
    })?;
    let arr = match ArrayView2::<f32>::view_npy(&bytes) {
        Ok(v) => Some(to_channel_major(v)),
        Err(_) => ArrayView2::<f64>::view_npy(&bytes)
            .ok()
            .map(|v| to_channel_major(v.mapv(|x| x as f32).view())),
    };
    drop(bytes);
    let arr = match arr {
        Some(a) => a,
        None => to_channel_major(read_general(path)?.view()),
    };
    check_shape(path, arr, min_rows)
}

/// Copies `[rows, cols]` into Fortran order (each column contiguous).
fn to_channel_major(v: ArrayView2<f32>) -> Array2<f32> {
    let (rows, cols) = v.dim();
    let standard = v.as_standard_layout();
    let flat = crate::dsp::layout::transpose(standard.as_slice().unwrap_or(&[]), rows, cols);
    // `flat` holds [cols, rows] row-major, which is [rows, cols] in Fortran order.
    Array2::from_shape_vec((rows, cols).f(), flat).unwrap_or_else(|_| v.to_owned())
}

fn read_general(path: &Path) -> Result<Array2<f32>, NpyError> {
    let open = || {
        File::open(path)
            .map(BufReader::new)
            .map_err(|source| NpyError::Open {
                path: path.to_owned(),
                source,
            })
    };
    let arr = match Array2::<f32>::read_npy(open()?) {
        Ok(a) => a,
        Err(ReadNpyError::WrongDescriptor(_)) => Array2::<f64>::read_npy(open()?)
            .map(|a| a.mapv(|v| v as f32))
            .map_err(|e| format_error(path, e))?,
        Err(e) => return Err(format_error(path, e)),
    };
    Ok(arr)
}

fn check_shape(path: &Path, arr: Array2<f32>, min_rows: usize) -> Result<Array2<f32>, NpyError> {
    let (rows, cols) = arr.dim();
    if cols == 0 || rows < min_rows {
        return Err(NpyError::Shape {
            path: path.to_owned(),
            rows,
            cols,
            why: format!("need at least {min_rows} samples and 1 channel"),
        });
    }
    Ok(arr)
}

fn format_error(path: &Path, e: ReadNpyError) -> NpyError {
    let detail = match e {
        ReadNpyError::WrongNdim(expected, found) => {
            format!(
                "found {found} dimensions, expected {}",
                expected.unwrap_or(2)
            )
        }
        other => other.to_string(),
    };
    NpyError::Format {
        path: path.to_owned(),
        detail,
    }
}

/// Writes a float32 `[rows, cols]` array to `path`.
pub fn write_matrix_f32(path: &Path, arr: ArrayView2<f32>) -> Result<(), NpyError> {
    let file = File::create(path).map_err(|source| NpyError::Open {
        path: path.to_owned(),
        source,
    })?;
    arr.write_npy(BufWriter::new(file))
        .map_err(|e| NpyError::Write {
            path: path.to_owned(),
            detail: e.to_string(),
        })
}
