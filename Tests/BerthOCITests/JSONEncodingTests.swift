import FoundationEssentials
import Testing

@testable import BerthOCI

@Suite struct JSONEncodingTests {
    struct Sample: Codable, Equatable {
        var name: String
        var count: Int64
        var ratio: Double
        var whole: Double
        var missing: String?
        var tags: [String: UInt32]
        var nested: [[Bool]]
        var quoted: String
    }

    @Test func writesWhatFoundationWrote() throws {
        let sample = Sample(name: "a", count: -9_223_372_036_854_775_808, ratio: 0.25, whole: 2, missing: nil,
                            tags: ["b": 2, "a": 1], nested: [[true], []], quoted: "x\"/\n")
        let text = String(decoding: try OCIJSON.encode(sample, pretty: false), as: UTF8.self)
        #expect(text == #"{"count":-9223372036854775808,"name":"a","nested":[[true],[]],"quoted":"x\"/\n","ratio":0.25,"tags":{"a":1,"b":2},"whole":2}"#)
        #expect(try OCIJSON.decode(Sample.self, from: Data(text.utf8), source: "t") == sample)
    }

    @Test func refusesNumbersJSONCannotHold() {
        #expect(throws: EncodingError.self) { try OCIJSON.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try OCIJSON.encode(["x": Double.infinity]) }
    }

    @Test func anEmptyEncodeIsAnEmptyObject() throws {
        struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }
        #expect(String(decoding: try OCIJSON.encode(Nothing(), pretty: false), as: UTF8.self) == "{}")
    }
}
