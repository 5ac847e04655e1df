//! The profiles shipped with shuyu, compiled in.
//!
//! This is the one place in Rust that names the cities: a list of file names. The test
//! `no_city_name_in_rust_code` allows exactly the `include_str!` lines below; nothing here or elsewhere
//! may branch on a name.

/// Name and text of each shipped profile, in the order of the regulations' numbering. One line per
/// profile, so the city-name test can allow exactly these lines.
#[rustfmt::skip]
const FILES: &[(&str, &str)] = &[
    ("weihai", include_str!("../../../profiles/weihai.toml")),
    ("zhongwei", include_str!("../../../profiles/zhongwei.toml")),
    ("changchun", include_str!("../../../profiles/changchun.toml")),
    ("futian", include_str!("../../../profiles/futian.toml")),
    ("qiqihar", include_str!("../../../profiles/qiqihar.toml")),
];

/// The names of the shipped profiles, in the same order as `FILES`.
// Indexing here runs at compile time: an index out of bounds fails the build, it cannot panic.
#[allow(clippy::indexing_slicing)]
pub(crate) const NAMES: &[&str] = &{
    let mut names = [""; FILES.len()];
    let mut i = 0;
    while i < FILES.len() {
        names[i] = FILES[i].0;
        i += 1;
    }
    names
};

/// The TOML text of a shipped profile.
pub(crate) fn source(name: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}
