//! The object store holding original instances byte for byte: the local filesystem under the
//! data folder by default, or S3-compatible storage by URL so several servers can share it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use object_store::ObjectStore;

/// Opens `url` (`s3://bucket/prefix`, `file:///abs/path`), or `<data dir>/objects` when unset.
/// S3 credentials and endpoint come from the usual `AWS_*` environment variables.
pub fn open(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Arc<dyn ObjectStore>> {
    match url {
        Some(url) => {
            let parsed = url::Url::parse(url).with_context(|| format!("ELYSIUM_OBJECT_STORE is not a URL: {url}"))?;
            let options: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("AWS_")).collect();
            let (store, prefix) = object_store::parse_url_opts(&parsed, options)?;
            Ok(Arc::new(object_store::prefix::PrefixStore::new(store, prefix)))
        }
        None => {
            let root = data_dir.join("objects");
            std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
            Ok(Arc::new(object_store::local::LocalFileSystem::new_with_prefix(root)?))
        }
    }
}

/// The local folder whose free space matters: the store's own folder when the store is local
/// (`<data dir>/objects` or a `file://` URL), else the data folder itself.
pub fn local_folder(url: Option<&str>, data_dir: &Path) -> PathBuf {
    match url.map(url::Url::parse) {
        None => data_dir.join("objects"),
        Some(Ok(url)) if url.scheme() == "file" => url.to_file_path().unwrap_or_else(|()| data_dir.to_owned()),
        Some(_) => data_dir.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_watched_is_where_the_objects_are() {
        let data = Path::new("/srv/elysium");
        assert_eq!(local_folder(None, data), Path::new("/srv/elysium/objects"));
        assert_eq!(local_folder(Some("file:///mnt/images/ct"), data), Path::new("/mnt/images/ct"));
        assert_eq!(local_folder(Some("s3://bucket/prefix"), data), data);
        assert_eq!(local_folder(Some("not a url"), data), data);
    }
}
