//! Every file flowlab writes goes through here: written to a temporary file in the target's
//! folder, flushed to disk and renamed over the target. A crash, `kill -9` or a full disk
//! leaves either the old complete file or the new complete one, never a half-written file.
//!
//! Temporary files are named `.NAME.PID.N.tmp` (hidden, next to the target). One a process left
//! behind when it was killed is removed the next time a file of that name is written in that
//! folder (when its process is gone; where that cannot be told, when it is a day old).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How old a temporary file of an unknown process must be before it counts as left behind.
const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// A file being written: the bytes go to a temporary file next to the target until
/// [`AtomicFile::commit`] puts it in place. Dropped without a commit (an error, a panic), the
/// temporary file is removed and the target is untouched.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<io::BufWriter<fs::File>>,
}

impl AtomicFile {
    /// Starts writing `target` (created in its folder, which must exist). Stale temporary files
    /// of earlier writes of `target` are removed first.
    pub fn create(target: &Path) -> io::Result<Self> {
        let (folder, name) = folder_and_name(target)?;
        remove_stale_temporaries(folder, &name);
        let (temp, file) = create_temp_file(folder, &name)?;
        Ok(Self {
            target: target.to_owned(),
            temp,
            file: Some(io::BufWriter::new(file)),
        })
    }

    /// Flushes the bytes to disk and renames the temporary file over the target.
    pub fn commit(mut self) -> io::Result<()> {
        let Some(writer) = self.file.take() else {
            return Err(io::Error::other("the file was already committed"));
        };
        pause_for_tests();
        let placed = writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
            .and_then(|file| file.sync_all())
            .and_then(|()| fs::rename(&self.temp, &self.target));
        if let Err(error) = placed {
            // The temporary file is useless now; failing to remove it changes nothing about
            // the error to report (a later write removes it).
            let _ = fs::remove_file(&self.temp);
            return Err(error);
        }
        if let Some(folder) = self.target.parent() {
            sync_folder(folder);
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(file) => file.write(buf),
            None => Err(io::Error::other("the file was already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Not committed: the temporary file is ours and useless; failing to remove it
            // leaves a stale file the next write removes.
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// With `FLOWLAB_TEST_WRITE_DELAY_MS` set, waits that long before a file is put in place: the
/// test that kills runs at random moments (`tests/kill.rs`) uses it to land inside writes.
fn pause_for_tests() {
    if let Some(millis) = std::env::var("FLOWLAB_TEST_WRITE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(millis.min(10_000)));
    }
}

/// Writes `bytes` to `path` atomically (see the module documentation).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// Creates `folder` (with its parents) and checks that files can be written in it, by writing
/// and removing a temporary file: an output folder that cannot take the results is found before
/// any work is done.
pub fn prepare_folder(folder: &Path) -> io::Result<()> {
    fs::create_dir_all(folder)?;
    let mut probe = AtomicFile::create(&folder.join("flowlab-probe"))?;
    probe.write_all(b"flowlab checks that this folder can be written\n")?;
    probe.flush()?;
    // Dropped uncommitted: the probe is removed.
    Ok(())
}

/// The folder (`.` for a bare file name) and the file name of `path`.
fn folder_and_name(path: &Path) -> io::Result<(&Path, String)> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    Ok((folder, name.to_string_lossy().into_owned()))
}

/// Creates a new, uniquely named hidden file next to the target, never reusing an existing one.
fn create_temp_file(folder: &Path, name: &str) -> io::Result<(PathBuf, fs::File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = folder.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
}

/// The process id of a temporary file of `name` (`.NAME.PID.N.tmp`), if `file` is one.
fn temporary_of(file: &str, name: &str) -> Option<u32> {
    let rest = file
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?;
    let rest = rest.strip_suffix(".tmp")?;
    let (pid, n) = rest.split_once('.')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether process `pid` is running, where the system tells it (Linux: `/proc`).
fn is_running(pid: u32) -> Option<bool> {
    if pid == std::process::id() {
        return Some(true);
    }
    let proc = Path::new("/proc");
    proc.is_dir().then(|| proc.join(pid.to_string()).exists())
}

/// Removes the temporary files of earlier writes of `name` in `folder` whose process is gone
/// (or, where that cannot be told, that are a day old). Best effort: a file that cannot be
/// removed stays.
fn remove_stale_temporaries(folder: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = temporary_of(&file.to_string_lossy(), name) else {
            continue;
        };
        let stale = match is_running(pid) {
            Some(running) => !running,
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > STALE_AFTER),
        };
        if stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Makes a rename durable by flushing the folder's entry list (Unix); elsewhere, and if the
/// folder cannot be opened, this does nothing: the file itself is already complete on disk.
fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = fs::File::open(folder) {
        // Best effort: the new file is already in place and complete.
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .expect("reads")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_commit_replaces_the_file_and_an_abandoned_write_leaves_it() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("out.txt");
        write_atomic(&path, b"old").expect("writes");
        let mut file = AtomicFile::create(&path).expect("creates");
        file.write_all(b"new, unfinished").expect("writes");
        assert_eq!(fs::read(&path).expect("reads"), b"old");
        drop(file);
        assert_eq!(fs::read(&path).expect("reads"), b"old");
        assert_eq!(names(folder.path()), ["out.txt"]);
        write_atomic(&path, b"new").expect("writes");
        assert_eq!(fs::read(&path).expect("reads"), b"new");
        assert_eq!(names(folder.path()), ["out.txt"]);
    }

    #[test]
    fn temporaries_of_dead_processes_are_removed_by_the_next_write() {
        let folder = tempfile::tempdir().expect("temp dir");
        // A pid far above any Linux pid_max: no such process.
        let dead = folder.path().join(".out.txt.4000000001.0.tmp");
        let other = folder.path().join(".other.txt.4000000001.0.tmp");
        let mine = folder
            .path()
            .join(format!(".out.txt.{}.999999.tmp", std::process::id()));
        for path in [&dead, &other, &mine] {
            fs::write(path, "left behind").expect("writes");
        }
        write_atomic(&folder.path().join("out.txt"), b"x").expect("writes");
        let left = names(folder.path());
        if Path::new("/proc").is_dir() {
            assert!(
                !left.contains(&".out.txt.4000000001.0.tmp".to_owned()),
                "{left:?}"
            );
        }
        // Another file's temporary and this process's own are not touched.
        assert!(
            left.contains(&".other.txt.4000000001.0.tmp".to_owned()),
            "{left:?}"
        );
        assert!(left.iter().any(|n| n.ends_with(".999999.tmp")), "{left:?}");
    }

    #[test]
    fn temporary_names_are_recognised_exactly() {
        assert_eq!(temporary_of(".a.ron.12.3.tmp", "a.ron"), Some(12));
        assert_eq!(temporary_of(".a.ron.12.tmp", "a.ron"), None);
        assert_eq!(temporary_of(".ab.ron.12.3.tmp", "a.ron"), None);
        assert_eq!(temporary_of("a.ron.12.3.tmp", "a.ron"), None);
    }

    #[test]
    fn a_folder_that_cannot_be_written_is_found_first() {
        let folder = tempfile::tempdir().expect("temp dir");
        let nested = folder.path().join("a").join("b");
        prepare_folder(&nested).expect("creates and probes");
        assert!(names(&nested).is_empty(), "the probe is removed");
        // A file where the folder should be.
        let blocked = folder.path().join("file");
        fs::write(&blocked, "x").expect("writes");
        assert!(prepare_folder(&blocked.join("out")).is_err());
    }
}
