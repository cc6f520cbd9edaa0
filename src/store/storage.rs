//! File-system primitives of the store: memory maps, atomic file replacement, directory sync.
//!
//! One of two modules with `unsafe` code (the memory map; the other is `lz4`, for FFI).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use super::segment::SharedBytes;

/// Maps a published segment file read-only.
#[allow(unsafe_code)]
pub fn map_file(path: &Path) -> io::Result<SharedBytes> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        // mmap of an empty file fails on some platforms; an empty buffer is equivalent.
        return Ok(Arc::new(Vec::new()));
    }
    // SAFETY: segment files are immutable once published: the writer creates them under a
    // temporary name, fsyncs and renames them, and never opens a published segment for
    // writing again (merges write new files; old ones are only unlinked, which keeps existing
    // mappings valid). So the mapped bytes cannot change under us. A user who edits files
    // inside the store by hand breaks this contract, as with any database.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(Arc::new(map))
}

/// Fsyncs a directory so that renames and unlinks inside it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to `path` atomically: temp file in the same directory, fsync, rename,
/// fsync of the directory. Readers see either the old or the new content, never a mix.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let res = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}
