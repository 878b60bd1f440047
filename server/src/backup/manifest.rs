//! `manifest.json`: what a backup holds, and the checks a restore makes on it before it touches
//! anything.
//!
//! The manifest names the database dump and every object with its size and SHA-256. Object
//! files are named by their content (`objects/<first two hex digits>/<sha256>`), never by their
//! key: a key comes from the database (and, at restore time, from a file anyone may have edited),
//! and turning it into a path on this machine's disk would let a crafted `../` escape the backup
//! folder. Content names cannot, and instances with the same bytes share one file.
//!
//! The checksums find damage (a bad disk, a truncated copy), not tampering: whoever can write
//! the backup can write a manifest that agrees with it. Keep backups where only the operators
//! can write.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BackupError;

pub const MANIFEST_FILE: &str = "manifest.json";
/// The database dump, in `pg_dump`'s custom format.
pub const DUMP_FILE: &str = "database.dump";
pub const OBJECTS_DIR: &str = "objects";
/// What `format` says, so that a manifest of something else (an export's) is told apart.
pub const FORMAT: &str = "elysium-backup";
/// Raised when the layout changes in a way an older `elysium restore` would misread.
pub const FORMAT_VERSION: u32 = 1;

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// The version of Elysium that wrote the backup.
    pub elysium_version: String,
    /// The newest migration applied to the dumped database (`_sqlx_migrations`).
    pub migration_version: i64,
    /// When the backup's snapshot was taken (RFC 3339, UTC).
    pub created_at: String,
    pub database: FileEntry,
    pub objects: Vec<ObjectEntry>,
}

/// A file of the backup (the dump).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

/// An object of the store: its key there, and its content's size and SHA-256 (which name its
/// file in the backup, see [`object_file`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

/// Where the object with this content lies inside a backup folder: two levels, so that no
/// folder holds every object of a large store.
pub fn object_file(sha256: &str) -> PathBuf {
    Path::new(OBJECTS_DIR).join(sha256.get(..2).unwrap_or("00")).join(sha256)
}

impl Manifest {
    /// Parses `manifest.json`'s bytes and checks what can be checked without the files:
    /// the format and its version, the file names, the checksums' shape, the keys.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, BackupError> {
        // The format first, on its own: a manifest of another kind or a later version should
        // say so, not that some field is missing.
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
            format_version: Option<u32>,
        }
        let bad = |why: String| BackupError::Manifest(why);
        let head: Head = serde_json::from_slice(bytes).map_err(|e| bad(format!("it is not readable JSON: {e}")))?;
        if head.format.as_deref() != Some(FORMAT) {
            return Err(bad(format!("it is not an Elysium backup's (format {:?}, not {FORMAT:?})", head.format)));
        }
        match head.format_version {
            Some(FORMAT_VERSION) => {}
            Some(v) if v > FORMAT_VERSION => {
                return Err(bad(format!(
                    "its format version {v} is newer than this Elysium reads ({FORMAT_VERSION}): restore with the \
                     Elysium that wrote it"
                )));
            }
            other => return Err(bad(format!("unknown format version {other:?}"))),
        }
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// The checks of [`Manifest::parse`] after the format's.
    fn check(&self) -> Result<(), BackupError> {
        let bad = |why: String| Err(BackupError::Manifest(why));
        if self.database.file != DUMP_FILE {
            return bad(format!("the database dump must be {DUMP_FILE}, not {:?}", self.database.file));
        }
        if !is_sha256(&self.database.sha256) {
            return bad(format!("the dump's sha256 {:?} is not 64 lowercase hex digits", self.database.sha256));
        }
        if self.migration_version <= 0 {
            return bad(format!("migration version {} names no migration", self.migration_version));
        }
        let mut keys = HashSet::with_capacity(self.objects.len());
        for object in &self.objects {
            if !is_sha256(&object.sha256) {
                return bad(format!(
                    "object {:?}: sha256 {:?} is not 64 lowercase hex digits",
                    object.key, object.sha256
                ));
            }
            check_key(&object.key).map_err(BackupError::Manifest)?;
            if !keys.insert(object.key.as_str()) {
                return bad(format!("object {:?} is listed twice", object.key));
            }
        }
        Ok(())
    }

    /// Every distinct file the manifest names, relative to the backup folder: (path, size,
    /// sha256), the dump first.
    pub fn files(&self) -> Vec<(PathBuf, u64, &str)> {
        let mut seen = HashSet::new();
        let mut files = vec![(PathBuf::from(&self.database.file), self.database.size, self.database.sha256.as_str())];
        for object in &self.objects {
            if seen.insert(object.sha256.as_str()) {
                files.push((object_file(&object.sha256), object.size, object.sha256.as_str()));
            }
        }
        files
    }

    /// The objects' total size in bytes.
    pub fn object_bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.size).sum()
    }
}

/// An object key as the store takes it: relative, `/`-separated, no empty, `.` or `..` segment
/// (the object store's own rule), and the same when parsed back.
pub fn check_key(key: &str) -> Result<(), String> {
    match object_store::path::Path::parse(key) {
        Ok(path) if path.as_ref() == key && !key.is_empty() => Ok(()),
        Ok(_) => Err(format!("object key {key:?} is not in the store's own form")),
        Err(e) => Err(format!("object key {key:?} is not a valid key: {e}")),
    }
}

pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads and parses `dir`'s manifest.
pub fn read(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::Manifest(format!(
                "{} has no {MANIFEST_FILE}: it is not a backup, or one that did not finish",
                dir.display()
            )));
        }
        Err(e) => return Err(BackupError::Io { path, source: e }),
    };
    Manifest::parse(&bytes)
}

/// Checks every file the manifest names, in its order: there, a plain file, of its size, with
/// its SHA-256. The first that is not is the error (sizes are all compared before any file is
/// read, so a truncated copy is found at once).
pub fn verify_files(dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let files = manifest.files();
    for (relative, size, _) in &files {
        let path = dir.join(relative);
        let bad = |problem: String| BackupError::BadFile { file: relative.display().to_string(), problem };
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if !meta.is_file() => return Err(bad("is not a plain file".into())),
            Ok(meta) if meta.len() != *size => {
                return Err(bad(format!("is {} bytes long, the manifest says {size}", meta.len())));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(bad("is missing".into())),
            Err(e) => return Err(BackupError::Io { path, source: e }),
        }
    }
    for (relative, _, sha256) in &files {
        let path = dir.join(relative);
        let found = sha256_of_file(&path)?;
        if found != *sha256 {
            return Err(BackupError::BadFile {
                file: relative.display().to_string(),
                problem: format!("has SHA-256 {found}, the manifest says {sha256}: it is damaged"),
            });
        }
    }
    Ok(())
}

/// The SHA-256 of a file's content, as lowercase hex.
pub fn sha256_of_file(path: &Path) -> Result<String, BackupError> {
    let io = |source| BackupError::Io { path: path.to_owned(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("elysium-backup-manifest-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).expect("scratch");
        dir
    }

    /// A backup folder with a dump and two objects (one content shared by two keys).
    fn backup_folder() -> (PathBuf, Manifest) {
        let dir = scratch();
        let dump = b"PGDMP fake dump";
        std::fs::write(dir.join(DUMP_FILE), dump).expect("dump");
        let mut objects = Vec::new();
        for (key, bytes) in [("instances/1/2/3.dcm", &b"first"[..]), ("instances/1/2/4.dcm", b"second")] {
            let file = dir.join(object_file(&sha(bytes)));
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(&file, bytes).expect("object");
            objects.push(ObjectEntry { key: key.into(), size: bytes.len() as u64, sha256: sha(bytes) });
        }
        objects.push(ObjectEntry { key: "instances/1/2/5.dcm".into(), size: 5, sha256: sha(b"first") });
        let manifest = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            elysium_version: "0.1.0".into(),
            migration_version: 20261212000001,
            created_at: "2026-12-12T10:00:00Z".into(),
            database: FileEntry { file: DUMP_FILE.into(), size: dump.len() as u64, sha256: sha(dump) },
            objects,
        };
        std::fs::write(dir.join(MANIFEST_FILE), serde_json::to_vec_pretty(&manifest).expect("json")).expect("write");
        (dir, manifest)
    }

    fn refusal(json: serde_json::Value) -> String {
        match Manifest::parse(json.to_string().as_bytes()) {
            Err(BackupError::Manifest(why)) => why,
            other => panic!("expected a refused manifest, got {other:?}"),
        }
    }

    #[test]
    fn a_whole_backup_reads_back_and_verifies() {
        let (dir, manifest) = backup_folder();
        assert_eq!(read(&dir).expect("read"), manifest);
        verify_files(&dir, &manifest).expect("verify");
        // Two keys, one content: one file.
        assert_eq!(manifest.files().len(), 3);
        assert_eq!(manifest.object_bytes(), 5 + 6 + 5);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn a_damaged_or_missing_file_is_named() {
        let (dir, manifest) = backup_folder();
        let first = dir.join(object_file(&sha(b"first")));
        // One byte changed, same size: found by the checksum.
        std::fs::write(&first, b"firsT").expect("corrupt");
        let Err(BackupError::BadFile { file, problem }) = verify_files(&dir, &manifest) else {
            panic!("a damaged object must be refused");
        };
        assert_eq!(file, object_file(&sha(b"first")).display().to_string());
        assert!(problem.contains("damaged"), "{problem}");
        // Truncated: found by its size.
        std::fs::write(&first, b"fir").expect("truncate");
        let Err(BackupError::BadFile { problem, .. }) = verify_files(&dir, &manifest) else { panic!("truncated") };
        assert!(problem.contains("3 bytes"), "{problem}");
        std::fs::remove_file(dir.join(DUMP_FILE)).expect("remove");
        let Err(BackupError::BadFile { file, problem }) = verify_files(&dir, &manifest) else { panic!("missing") };
        assert_eq!((file.as_str(), problem.as_str()), (DUMP_FILE, "is missing"));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn a_folder_without_a_manifest_is_no_backup() {
        let dir = scratch();
        let Err(BackupError::Manifest(why)) = read(&dir) else { panic!("no manifest") };
        assert!(why.contains("no manifest.json"), "{why}");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn manifests_of_other_kinds_versions_and_shapes_are_refused() {
        let (dir, manifest) = backup_folder();
        let good = serde_json::to_value(&manifest).expect("json");
        std::fs::remove_dir_all(&dir).expect("clean up");
        let with = |pointer: &str, value: serde_json::Value| {
            let mut json = good.clone();
            *json.pointer_mut(pointer).expect("field") = value;
            json
        };
        assert!(refusal(serde_json::json!({"findings": 3})).contains("not an Elysium backup"));
        assert!(refusal(with("/format_version", 2.into())).contains("newer than this Elysium reads"));
        assert!(refusal(with("/database/file", "../../etc/passwd".into())).contains("must be database.dump"));
        assert!(refusal(with("/database/sha256", "ABC".into())).contains("64 lowercase hex"));
        assert!(refusal(with("/objects/0/sha256", "../x".into())).contains("64 lowercase hex"));
        assert!(refusal(with("/objects/0/key", "instances/../../x".into())).contains("not a valid key"));
        assert!(refusal(with("/objects/0/key", "/instances/x".into())).contains("store's own form"));
        assert!(refusal(with("/objects/1/key", "instances/1/2/3.dcm".into())).contains("listed twice"));
        assert!(refusal(with("/migration_version", 0.into())).contains("names no migration"));
        let mut missing = good.clone();
        missing.as_object_mut().expect("object").remove("objects");
        assert!(refusal(missing).contains("objects"));
        assert!(matches!(Manifest::parse(b"not json"), Err(BackupError::Manifest(_))));
    }

    #[test]
    fn object_files_are_named_by_content() {
        let digest = sha(b"x");
        assert_eq!(object_file(&digest), Path::new("objects").join(&digest[..2]).join(&digest));
        assert!(is_sha256(&digest) && !is_sha256(&digest.to_uppercase()) && !is_sha256("ab"));
        check_key("instances/1.2/3.4/5.6.abc.dcm").expect("an ingest key");
        assert!(check_key("").is_err() && check_key("a//b").is_err() && check_key("a/./b").is_err());
    }
}
