//! The marker iocsync writes into what it creates (a Vision One object's description, a Deep
//! Security list's description): `[iocsync:<library id>]`. Reading it back tells an object of
//! this library from one of another iocsync (another library id, or the `[iocsync]` of
//! versions before library ids) and from a foreign one (no marker: a person or another tool
//! made it), which iocsync never changes or deletes unless told to adopt it.

/// What the description of an object on a target says about who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Maker {
    /// This library: if no ledger row knows it, it is an orphan (a lost or restored ledger).
    ThisLibrary,
    /// Another iocsync library (its id), or an iocsync from before library ids (`None`).
    OtherLibrary(Option<String>),
    /// No marker: not made by iocsync.
    Foreign,
}

impl Maker {
    /// How a run report names this maker.
    pub fn describe(&self) -> String {
        match self {
            Maker::ThisLibrary => "this library".to_owned(),
            Maker::OtherLibrary(Some(id)) => format!("another iocsync library ({id})"),
            Maker::OtherLibrary(None) => "an iocsync without a library id".to_owned(),
            Maker::Foreign => "not iocsync".to_owned(),
        }
    }
}

/// This library's marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    library: String,
}

/// The marker's opening, common to every iocsync.
const OPENING: &str = "[iocsync";

impl Marker {
    pub fn new(library_id: &str) -> Marker {
        Marker {
            library: library_id.to_owned(),
        }
    }

    /// The library id it carries.
    pub fn library(&self) -> &str {
        &self.library
    }

    /// `[iocsync:<id>]`, the prefix of every description iocsync writes.
    pub fn text(&self) -> String {
        format!("{OPENING}:{}]", self.library)
    }

    /// `text` with this marker in front, unless it already starts with it.
    pub fn stamp(&self, text: &str) -> String {
        let marker = self.text();
        let text = text.trim();
        if text.starts_with(&marker) {
            text.to_owned()
        } else if text.is_empty() {
            marker
        } else {
            format!("{marker} {text}")
        }
    }

    /// Who made an object with this description.
    pub fn maker(&self, description: Option<&str>) -> Maker {
        let Some(rest) = description.and_then(|d| d.trim_start().strip_prefix(OPENING)) else {
            return Maker::Foreign;
        };
        if rest.starts_with(']') {
            return Maker::OtherLibrary(None);
        }
        let id = rest
            .strip_prefix(':')
            .and_then(|rest| rest.split_once(']'))
            .map(|(id, _)| id)
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()));
        match id {
            Some(id) if id == self.library => Maker::ThisLibrary,
            Some(id) => Maker::OtherLibrary(Some(id.to_owned())),
            None => Maker::Foreign,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_tell_who_made_an_object() {
        let marker = Marker::new("1a2b3c4d");
        assert_eq!(marker.text(), "[iocsync:1a2b3c4d]");
        assert_eq!(
            marker.maker(Some("[iocsync:1a2b3c4d] x")),
            Maker::ThisLibrary
        );
        assert_eq!(
            marker.maker(Some("[iocsync:ffff0000]")),
            Maker::OtherLibrary(Some("ffff0000".into()))
        );
        assert_eq!(
            marker.maker(Some("[iocsync] old")),
            Maker::OtherLibrary(None)
        );
        assert_eq!(marker.maker(Some("blocked by Ann")), Maker::Foreign);
        assert_eq!(marker.maker(Some("[iocsync:] x")), Maker::Foreign);
        assert_eq!(marker.maker(Some("[iocsyncx] x")), Maker::Foreign);
        assert_eq!(marker.maker(None), Maker::Foreign);
    }

    #[test]
    fn stamping_adds_the_marker_once() {
        let marker = Marker::new("ab");
        assert_eq!(marker.stamp("seen"), "[iocsync:ab] seen");
        assert_eq!(marker.stamp("[iocsync:ab] seen"), "[iocsync:ab] seen");
        assert_eq!(marker.stamp(""), "[iocsync:ab]");
    }
}
