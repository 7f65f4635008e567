import BerthAsync
import BerthAPI
import BerthImages
import BerthLinux

extension Agent {
    public func images() throws(APIError) -> [Image] {
        try imageCall { () throws(ImageError) in try imageStore.list() }
    }

    public func importImage(path: String, name: String?) async throws(APIError) -> Image {
        let images = imageStore
        let result = await runBlocking("import") {
            Result { () throws(ImageError) in try images.import(path: path, name: name) }
        }
        return try imageCall { () throws(ImageError) in try result.get() }
    }

    public func removeImage(_ name: String) throws(APIError) {
        try imageCall { () throws(ImageError) in try imageStore.remove(name) }
    }

    /// Keeps the layers of every image a live task names.
    public func pruneImages() throws(APIError) -> PruneReport {
        try imageCall { () throws(ImageError) in try imageStore.prune() }
    }

    private func imageCall<T>(_ body: () throws(ImageError) -> T) throws(APIError) -> T {
        do {
            return try body()
        } catch {
            throw APIError(status: error.message.hasPrefix("no image") ? 404 : 400, message: error.message)
        }
    }
}
