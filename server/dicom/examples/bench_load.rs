//! Benchmark runner: series → HU volume, as Elysium loads it (see `tests/bench/`).
//!
//! ```text
//! cargo run --release -p elysium-dicom --example bench_load -- DIR [--runs N] [--threads T]
//! ```
//!
//! Lists the files under DIR once (recursively), then N times: reads every file, parses it
//! with [`elysium_dicom::header::parse_shared`] (in parallel on a rayon pool of T threads, by
//! default one per core; native pixel data stays in the file's buffer), and assembles the volume with [`elysium_dicom::volume::load_series`] (which
//! decodes the frames on the same pool). Prints one JSON object on stdout: each run's seconds,
//! their median (and the medians of the two stages), the volume's shape, the SHA-256 of its HU
//! (int16 little endian in slice, row, column order, as every tool of tests/bench computes it,
//! so that a tool whose voxels differ or lie in another order is caught), and the peak resident
//! memory (VmHWM). Nothing here asserts a time.

use std::path::{Path, PathBuf};
use std::time::Instant;

use elysium_dicom::header::{self, ParsedInstance};
use elysium_dicom::volume::{self, LoadedSeries};
use rayon::prelude::*;

struct Args {
    dir: PathBuf,
    runs: usize,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut dir = None;
    let mut runs = 5;
    let mut threads = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let mut args = std::env::args().skip(1);
    let number = |value: Option<String>, flag: &str| {
        value
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{flag} needs a positive number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = number(args.next(), "--runs")?,
            "--threads" => threads = number(args.next(), "--threads")?,
            "-h" | "--help" => {
                return Err("usage: bench_load DIR [--runs N] [--threads T]".into());
            }
            _ if dir.is_none() => dir = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    let dir = dir.ok_or("usage: bench_load DIR [--runs N] [--threads T]")?;
    Ok(Args { dir, runs, threads })
}

/// Every regular file under `dir`, sorted by path (the order does not matter to the loader).
fn list_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// From file paths to the HU volume: read, parse (in parallel), assemble. Also returns the
/// seconds spent reading and parsing, and assembling (decoding included).
fn load(paths: &[PathBuf]) -> Result<(LoadedSeries, [f64; 2]), String> {
    let start = Instant::now();
    let instances = paths
        .par_iter()
        .map(|path| {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            // As the screening pipeline reads a series: native pixel data stays in the file's buffer.
            header::parse_shared(&bytes.into()).map_err(|e| format!("{}: {e}", path.display()))
        })
        .collect::<Result<Vec<ParsedInstance>, String>>()?;
    let parsed = start.elapsed().as_secs_f64();
    let loaded = volume::load_series(&instances).map_err(|e| e.to_string())?;
    Ok((loaded, [parsed, start.elapsed().as_secs_f64() - parsed]))
}

/// Peak resident set size of this process (MiB), from /proc/self/status.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// SHA-256 (hex) of the volume's HU as int16 little endian, slice by slice, row by row
/// (`Volume::voxels` is z-major): the checksum every tool of the benchmark reports.
fn hu_sha256(voxels: &[i16]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut buffer = Vec::with_capacity(1 << 16);
    for chunk in voxels.chunks(1 << 15) {
        buffer.clear();
        buffer.extend(chunk.iter().flat_map(|v| v.to_le_bytes()));
        hasher.update(&buffer);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 { sorted[n / 2] } else { 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]) }
}

fn run() -> Result<serde_json::Value, String> {
    let args = parse_args()?;
    rayon::ThreadPoolBuilder::new().num_threads(args.threads).build_global().map_err(|e| e.to_string())?;
    let paths = list_files(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    if paths.is_empty() {
        return Err(format!("no files under {}", args.dir.display()));
    }
    let bytes: u64 = paths.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let mut seconds = Vec::with_capacity(args.runs);
    let mut stages = Vec::with_capacity(args.runs);
    let mut last = None;
    for _ in 0..args.runs {
        // The previous volume is freed before the next run starts, outside the timed part.
        drop(last.take());
        let start = Instant::now();
        let (loaded, stage) = load(&paths)?;
        seconds.push(start.elapsed().as_secs_f64());
        stages.push(stage);
        last = Some(loaded);
    }
    let loaded = last.ok_or("no run")?;
    let peak_rss = peak_rss_mib();
    let v = &loaded.volume;
    let hu_sha256 = hu_sha256(&v.voxels);
    Ok(serde_json::json!({
        "tool": "elysium",
        "threads": args.threads,
        "files": paths.len(),
        "bytes": bytes,
        "shape": [v.slices, v.rows, v.columns],
        "hu_sha256": hu_sha256,
        "problems": loaded.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "runs_s": seconds,
        "median_s": median(&seconds),
        "min_s": seconds.iter().copied().fold(f64::INFINITY, f64::min),
        // Medians of the two stages: read + header::parse_shared of every file, then load_series.
        "read_parse_median_s": median(&stages.iter().map(|s| s[0]).collect::<Vec<_>>()),
        "load_series_median_s": median(&stages.iter().map(|s| s[1]).collect::<Vec<_>>()),
        "peak_rss_mib": peak_rss,
    }))
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(report) => {
            println!("{report}");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("bench_load: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
