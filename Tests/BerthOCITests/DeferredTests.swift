import FoundationEssentials
import Testing

@testable import BerthOCI

@Suite struct DeferredTests {
    struct Inner: Codable, Sendable, Equatable {
        var name: String
        var limit: UInt32?
        var labels: [String: String]?
    }

    struct Outer: Codable, Sendable {
        var id: String
        var inner: Deferred<Inner>
    }

    @Test func readsOneMemberOrAllOfItAndWritesItBackUnchanged() throws {
        let text = #"{"id":"c1","inner":{"labels":{"a":"b"},"limit":7,"name":"x","unknown":[1]}}"#
        let outer = try OCIJSON.decode(Outer.self, from: Data(text.utf8), source: "state.json")
        #expect(try outer.inner.member("labels", as: [String: String].self, source: "s") { $0.labels } == ["a": "b"])
        #expect(try outer.inner.member("missing", as: String.self, source: "s") { _ in "never" } == nil)
        #expect(try outer.inner.value(source: "s") == Inner(name: "x", limit: 7, labels: ["a": "b"]))
        // What was read is written back as it was, unknown members included.
        #expect(String(decoding: try OCIJSON.encode(outer, pretty: false), as: UTF8.self) == text)
    }

    @Test func aDecodedValueAnswersFromTheValue() throws {
        let deferred = Deferred(Inner(name: "y", limit: nil, labels: nil))
        #expect(try deferred.member("name", as: String.self, source: "s") { $0.name } == "y")
        let text = String(decoding: try OCIJSON.encode(Outer(id: "c2", inner: deferred), pretty: false), as: UTF8.self)
        #expect(text == #"{"id":"c2","inner":{"name":"y"}}"#)
    }

    @Test func errorsNameThePathInsideTheDeferredDocument() throws {
        let text = #"{"id":"c1","inner":{"name":"x","limit":-1}}"#
        let outer = try OCIJSON.decode(Outer.self, from: Data(text.utf8), source: "state.json")
        let error = try #require(throws: OCIError.self) { try outer.inner.member("limit", as: UInt32.self, source: "state.json spec") { $0.limit } }
        #expect(error.source == "state.json spec")
        #expect(error.path.hasPrefix("limit"))
        #expect(throws: OCIError.self) { try outer.inner.value(source: "state.json spec") }
    }
}
