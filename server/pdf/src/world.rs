//! The Typst world of one report: its template as the only source, its data and images as the
//! only files, and no clock (a report prints the date it is given, so the same record gives the
//! same PDF).

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, World};

use crate::Image;
use crate::fonts::Fonts;

/// The name the templates read their data from.
const DATA_FILE: &str = "data.json";

pub(crate) struct ReportWorld {
    library: &'static LazyHash<Library>,
    fonts: &'static Fonts,
    main: Source,
    files: Vec<(FileId, Bytes)>,
}

fn file_id(name: &str) -> Option<FileId> {
    VirtualPath::new(name).ok().map(|path| RootedPath::new(VirtualRoot::Project, path).intern())
}

impl ReportWorld {
    pub(crate) fn new(
        library: &'static LazyHash<Library>,
        fonts: &'static Fonts,
        name: &str,
        source: &str,
        data: Vec<u8>,
        images: Vec<Image>,
    ) -> ReportWorld {
        // The template names are constants of this crate; a name Typst refused would be a bug
        // caught by every test, so a detached source is only a fallback.
        let main = match file_id(name) {
            Some(id) => Source::new(id, source.to_owned()),
            None => Source::detached(source.to_owned()),
        };
        let files = std::iter::once((DATA_FILE.to_owned(), data))
            .chain(images.into_iter().map(|i| (i.name, i.bytes)))
            .filter_map(|(name, bytes)| Some((file_id(&name)?, Bytes::new(bytes))))
            .collect();
        ReportWorld { library, fonts, main, files }
    }
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() { Ok(self.main.clone()) } else { Err(FileError::NotSource) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files
            .iter()
            .find(|(file, _)| *file == id)
            .map(|(_, bytes)| bytes.clone())
            .ok_or_else(|| FileError::NotFound(format!("{:?}", id).into()))
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        None
    }
}
