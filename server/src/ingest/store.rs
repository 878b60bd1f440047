//! The object store holding original instances byte for byte: the local filesystem under the
//! data folder by default, or S3-compatible storage by URL so several servers can share it.

use std::path::Path;
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
