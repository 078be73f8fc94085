//! A study as a Slurm job array: `study.sbatch`, whose task i runs `flowlab run` of run i's
//! file into run i's folder, exactly as [`super::local`] does. Slurm is used through its own
//! commands (`sbatch`, `squeue`), not re-implemented.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::StudyError;
use super::folder::{Manifest, StudyFolder, folder_digits};

/// The options of `flowlab study slurm`.
#[derive(Clone, Debug, Default)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (Slurm's format: `30`, `1:00:00`, `1-00:00:00`).
    pub time: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// At most this many tasks at once (`%M` of `--array`).
    pub max_parallel: Option<usize>,
}

/// `study.sbatch` in the study folder.
#[must_use]
pub fn script_path(folder: &StudyFolder) -> PathBuf {
    folder.dir.join("study.sbatch")
}

/// The folder of Slurm's per-task output files.
#[must_use]
pub fn output_dir(folder: &StudyFolder) -> PathBuf {
    folder.dir.join("slurm")
}

/// Quotes a word for the shell (single quotes).
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The job-array script of a study whose folder is `dir` (absolute), run by the flowlab binary
/// `exe` (absolute).
#[must_use]
pub fn script(manifest: &Manifest, dir: &Path, exe: &Path, options: &SlurmOptions) -> String {
    let total = manifest.runs.len();
    let last = total.saturating_sub(1);
    let array = match options.max_parallel {
        Some(m) => format!("0-{last}%{m}"),
        None => format!("0-{last}"),
    };
    let name: String = manifest
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let dir_text = dir.display().to_string();
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    let _ = writeln!(
        s,
        "# flowlab study \"{}\": {total} runs as one job array.",
        manifest.name
    );
    s.push_str(
        "# Task i runs `flowlab run` of runs/i/experiment.ron into runs/i (a finished run is\n",
    );
    s.push_str(
        "# skipped, an interrupted one resumes from its checkpoint); Slurm's output of task i\n",
    );
    s.push_str("# is slurm/JOB_i.out. Submit with: sbatch study.sbatch\n");
    let _ = writeln!(s, "#SBATCH --job-name=flowlab-{name}");
    let _ = writeln!(s, "#SBATCH --array={array}");
    s.push_str("#SBATCH --ntasks=1\n");
    s.push_str("#SBATCH --cpus-per-task=1\n");
    let _ = writeln!(s, "#SBATCH --output={dir_text}/slurm/%A_%a.out");
    if let Some(partition) = &options.partition {
        let _ = writeln!(s, "#SBATCH --partition={partition}");
    }
    if let Some(time) = &options.time {
        let _ = writeln!(s, "#SBATCH --time={time}");
    }
    if let Some(account) = &options.account {
        let _ = writeln!(s, "#SBATCH --account={account}");
    }
    s.push_str("set -eu\n");
    let _ = writeln!(s, "study={}", quote(&dir_text));
    let _ = writeln!(s, "flowlab={}", quote(&exe.display().to_string()));
    let _ = writeln!(
        s,
        "run=\"$study/runs/$(printf '%0{}d' \"$SLURM_ARRAY_TASK_ID\")\"",
        folder_digits(total)
    );
    s.push_str("echo \"flowlab study task $SLURM_ARRAY_TASK_ID on $(hostname): $run\"\n");
    s.push_str("if grep -qs '\"outcome\": \"completed\"' \"$run/status.json\"; then\n");
    s.push_str("    echo \"already completed\"\n");
    s.push_str("    exit 0\n");
    s.push_str("fi\n");
    s.push_str(
        "exec \"$flowlab\" run \"$run/experiment.ron\" --out \"$run\" --quiet --threads 1\n",
    );
    s
}

/// Writes `study.sbatch` (and creates `slurm/`); returns the script's path.
pub fn write_script(
    folder: &StudyFolder,
    manifest: &Manifest,
    exe: &Path,
    options: &SlurmOptions,
) -> Result<PathBuf, StudyError> {
    let dir = std::path::absolute(&folder.dir).map_err(|e| StudyError::Folder(e.to_string()))?;
    let path = script_path(folder);
    let out = output_dir(folder);
    std::fs::create_dir_all(&out)
        .map_err(|e| StudyError::Folder(format!("cannot create {} ({e})", out.display())))?;
    crate::experiment::files::write_atomic(&path, script(manifest, &dir, exe, options).as_bytes())
        .map_err(|e| StudyError::Folder(format!("cannot write {} ({e})", path.display())))?;
    Ok(path)
}

/// Submits the script with `sbatch --parsable`; the job id (also saved as `slurm/job`).
pub fn submit(folder: &StudyFolder) -> Result<String, String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .arg(script_path(folder))
        .current_dir(&folder.dir)
        .output()
        .map_err(|e| format!("cannot run sbatch ({e}); is Slurm installed here?"))?;
    if !output.status.success() {
        return Err(format!(
            "sbatch failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let id = stdout
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    if id.is_empty() {
        return Err("sbatch printed no job id".to_owned());
    }
    let _ = crate::experiment::files::write_atomic(
        &output_dir(folder).join("job"),
        format!("{id}\n").as_bytes(),
    );
    Ok(id)
}

/// The job id saved by [`submit`], if any.
#[must_use]
pub fn job_id(folder: &StudyFolder) -> Option<String> {
    std::fs::read_to_string(output_dir(folder).join("job"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The array's tasks `squeue` lists (`TASK STATE` lines), when `squeue` is there.
#[must_use]
pub fn queued_tasks(job: &str) -> Option<Vec<String>> {
    let output = Command::new("squeue")
        .args(["-h", "-r", "-j", job, "-o", "%K %T"])
        .output()
        .ok()?;
    output.status.success().then(|| {
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.trim().is_empty())
            .collect()
    })
}
