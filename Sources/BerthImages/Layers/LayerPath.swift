/// Member names of a layer, checked before anything touches the disk.
enum LayerPath {
    /// The components of a member name: `./` and repeated slashes are dropped; an absolute
    /// path, a `..` component or a NUL byte is refused (each would write outside the layer).
    static func components(_ path: String) throws(ImageError) -> [String] {
        // A bare "/" is the root itself, as umoci writes it; "/etc" is absolute.
        if path.hasPrefix("/") && !path.allSatisfy({ $0 == "/" }) { throw ImageError("absolute path (members must be relative to the layer root)") }
        if path.utf8.contains(0) { throw ImageError("name contains a NUL byte") }
        var result: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw ImageError("path leaves the layer (\"..\" component)") }
            result.append(String(part))
        }
        return result
    }

    /// The overlay whiteout prefix (`.wh.NAME` hides NAME in lower layers) and the opaque marker.
    static let whiteoutPrefix = ".wh."
    static let opaqueMarker = ".wh..wh..opq"
    /// Overlayfs's own attribute: an opaque directory hides everything below it.
    static let opaqueAttribute = "trusted.overlay.opaque"
}
