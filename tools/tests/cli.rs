//! The toolkit's commands end to end: simulate → hg (offline and causal) → responsive, and
//! their errors on bad input.

use std::path::Path;
use std::process::{Command, Output};

fn tools(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neurovox-tools"))
        .args(["--log", "warn"])
        .args(args)
        .output()
        .expect("run neurovox-tools")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn simulate_hg_responsive_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(tools(&[
        "simulate",
        "--channels",
        "32",
        "--seconds",
        "40",
        "--seed",
        "2",
        "--out",
        p(d),
    ]));
    for f in ["ecog.npy", "onsets.csv", "truth.json"] {
        assert!(d.join(f).exists(), "simulate wrote no {f}");
    }
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("truth.json")).unwrap()).unwrap();
    let samples = (40.0 * 3051.7578125f64).round() as usize;
    let ecog = ndarray_npy::read_npy::<_, ndarray::Array2<f32>>(d.join("ecog.npy")).unwrap();
    assert_eq!(ecog.dim(), (samples, 32));

    let hg = d.join("hg.npy");
    ok(tools(&[
        "hg",
        "--input",
        p(&d.join("ecog.npy")),
        "--out",
        p(&hg),
    ]));
    let frames = ndarray_npy::read_npy::<_, ndarray::Array2<f32>>(&hg).unwrap();
    assert_eq!(frames.dim(), (4000, 32));
    // Bad channels found automatically are NaN, and they are the simulated ones.
    let nan_cols: Vec<u64> = (0..32)
        .filter(|&c| frames[[0, c]].is_nan())
        .map(|c| c as u64)
        .collect();
    let mut bad: Vec<u64> = truth["bad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["channel"].as_u64().unwrap())
        .collect();
    bad.sort();
    assert_eq!(nan_cols, bad);

    let csv = d.join("responsive.csv");
    let stdout = ok(tools(&[
        "responsive",
        "--hg",
        p(&hg),
        "--onsets",
        p(&d.join("onsets.csv")),
        "--out",
        p(&csv),
        "--plot",
        p(&d.join("responsive.png")),
    ]));
    assert!(stdout.contains("channels responsive"), "{stdout}");
    let png = std::fs::read(d.join("responsive.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "the figure is a real PNG"
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().next(), Some("channel,t,p,responsive"));
    assert_eq!(text.lines().count(), 33);

    let causal = d.join("hg_causal.npy");
    let stdout = ok(tools(&[
        "hg",
        "--causal",
        "--input",
        p(&d.join("ecog.npy")),
        "--out",
        p(&causal),
    ]));
    assert!(stdout.contains("algorithmic delay"), "{stdout}");
    let frames = ndarray_npy::read_npy::<_, ndarray::Array2<f32>>(&causal).unwrap();
    assert_eq!(frames.ncols(), 32);
    assert!(frames.nrows().abs_diff(4000) <= 1);
}

#[test]
fn bad_inputs_fail_with_a_message_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let garbage = d.join("garbage.npy");
    std::fs::write(&garbage, b"nope").unwrap();
    let out = tools(&["hg", "--input", p(&garbage), "--out", p(&d.join("x.npy"))]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("garbage.npy"), "{err}");

    let three_d = d.join("cube.npy");
    ndarray_npy::write_npy(&three_d, &ndarray::Array3::<f32>::zeros((4, 4, 4))).unwrap();
    let out = tools(&["hg", "--input", p(&three_d), "--out", p(&d.join("x.npy"))]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("cube.npy") && err.contains("3 dimensions"),
        "{err}"
    );

    let ecog = d.join("ecog.npy");
    ndarray_npy::write_npy(&ecog, &ndarray::Array2::<f32>::zeros((8000, 4))).unwrap();
    let out = tools(&[
        "hg",
        "--input",
        p(&ecog),
        "--bad",
        "7",
        "--out",
        p(&d.join("x.npy")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("channel 7 does not exist"),
        "{err}"
    );

    let onsets = d.join("onsets.csv");
    std::fs::write(&onsets, "onset_s\n1.0\nabc\n").unwrap();
    let hg = d.join("hg.npy");
    ndarray_npy::write_npy(&hg, &ndarray::Array2::<f32>::zeros((500, 2))).unwrap();
    let out = tools(&[
        "responsive",
        "--hg",
        p(&hg),
        "--onsets",
        p(&onsets),
        "--out",
        p(&d.join("r.csv")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("onsets.csv:3"),
        "{err}"
    );
}
