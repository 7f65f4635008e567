import Foundation
import Testing
import BerthAPI
@testable import BerthAgent

@Suite("Resources: ranges and resource sets")
struct ResourceSetTests {
    @Test func rangesMergeSplitAndCompare() {
        var list = RangeList([31005...31009, 31000...31004, 31020...31020])
        #expect(list.intervals == [31000...31009, 31020...31020])
        #expect(list.count == 11)
        #expect(list.description == "[31000-31009, 31020-31020]")
        list.formUnion(31010...31019)
        #expect(list.intervals == [31000...31020])
        list.subtract(RangeList([31005...31005, 31010...31012]))
        #expect(list.intervals == [31000...31004, 31006...31009, 31013...31020])
        #expect(list.contains(31006))
        #expect(!list.contains(31005))
        #expect(list.contains(RangeList([31001...31003, 31013...31020])))
        #expect(!list.contains(RangeList([31004...31006])))
        #expect(list.overlaps(RangeList([31005...31006])))
        #expect(!list.overlaps(RangeList([31010...31012, 40000...40001])))
        #expect(list.intersection(RangeList([31003...31007])).intervals == [31003...31004, 31006...31007])
        #expect(list.lowest(6) == [31000, 31001, 31002, 31003, 31004, 31006])
        #expect(list.lowest(100) == nil)
        #expect(list.lowest(0) == [])
        list.subtract(RangeList([0...65535]))
        #expect(list.isEmpty)
    }

    @Test func scalarsAreFixedPointWithThreeDecimals() throws {
        let sum = sum(.scalar("cpus", 0.1), .scalar("cpus", 0.2))
        #expect(sum == .scalar("cpus", 0.3))
        #expect(sum.scalar("cpus") == 0.3)
        #expect(sum.contains(.scalar("cpus", 0.3)))
        var left = ResourceSet.scalar("cpus", 1)
        for _ in 0..<10 { try left.subtract(.scalar("cpus", 0.1)) }
        #expect(left.isEmpty)
        #expect(ResourceSet.scalar("cpus", 0.0004).isEmpty)
        #expect(ResourceSet.scalar("cpus", 0.0006).milli("cpus") == 1)
        #expect(Fixed.format(1500) == "1.5")
        #expect(Fixed.format(2000) == "2")
        #expect(Fixed.format(1) == "0.001")
        #expect(Fixed.format(-250) == "-0.25")
    }

    @Test func subtractRefusesWhatIsNotThereAndSaysWhat() {
        var offered = sum(.scalar("cpus", 1.5), .scalar("mem", 1024), .ranges("ports", RangeList([31000...31009])))
        let before = offered
        let needs = sum(.scalar("cpus", 2), .scalar("mem", 512))
        switch Result(catching: { () throws(ResourceSet.Shortage) in try offered.subtract(needs) }) {
        case .success: Issue.record("subtracting more than there is succeeded")
        case .failure(let shortage): #expect(shortage.message("offered") == "needs cpus 2 but 1.5 are offered")
        }
        #expect(offered == before)
        #expect(offered.shortage(of: .scalar("gpus", 1))?.message("free") == "needs gpus 1 but 0 are free")
        #expect(offered.shortage(of: .scalar("mem", 2048))?.message("offered") == "needs mem 2048 but 1024 are offered")
        #expect(ResourceSet.scalar("cpus", 1).shortage(of: .scalar("cpus", 2))?.message("free") == "needs cpus 2 but 1 is free")
        #expect(offered.shortage(of: .ranges("ports", RangeList([31009...31011])))?.message("offered")
            == "needs ports [31009-31011] but [31010-31011] are not offered")
        #expect(offered.shortage(of: .scalar("cpus", 1, role: "web"))?.message("offered")
            == "needs cpus reserved for role web 1 but 0 are offered")
        #expect(ResourceSet.set("zones", ["a"]).shortage(of: .set("zones", ["a", "b"]))?.message("offered")
            == "needs zones {b} but it is not offered")
        #expect(offered.shortage(of: .scalar("cpus", 1.5)) == nil)
    }

    @Test func rolesKeepResourcesApart() {
        let total = sum(.scalar("cpus", 2), .scalar("cpus", 1, role: "web"), .scalar("mem", 100, role: "db"))
        #expect(total.scalar("cpus") == 3)
        #expect(total.scalar("cpus", role: "*") == 2)
        #expect(total.scalar("cpus", role: "web") == 1)
        #expect(total.usable(by: "web") == sum(.scalar("cpus", 2), .scalar("cpus", 1, role: "web")))
        #expect(total.usable(by: "*") == .scalar("cpus", 2))
        #expect(total.unreserved == .scalar("cpus", 2))
        #expect(total.roles == ["*", "db", "web"])
        #expect(total.withRole("*") == sum(.scalar("cpus", 3), .scalar("mem", 100)))
        #expect(!total.contains(.scalar("cpus", 3)))
        #expect(total.description == "cpus 2, cpus(web) 1, mem(db) 100")
        #expect(ResourceSet().description == "nothing")
    }

    @Test func saturatingSubtractionNeverGoesNegative() {
        let a = sum(.scalar("cpus", 1), .ranges("ports", RangeList([1...10])), .set("s", ["x", "y"]))
        let b = sum(.scalar("cpus", 5), .ranges("ports", RangeList([5...20])), .set("s", ["y", "z"]), .scalar("mem", 1))
        let d = a - b
        #expect(d == sum(.ranges("ports", RangeList([1...4])), .set("s", ["x"])))
        #expect(d.milli("cpus") == 0)
        #expect(a.overlaps(b))
        #expect(!ResourceSet.scalar("mem", 1).overlaps(.scalar("cpus", 1)))
    }

    @Test func sameNameWithAnotherTypeIsAnotherResource() {
        let a = ResourceSet.scalar("ports", 3)
        #expect(!(a.contains(.ranges("ports", RangeList([1...1])))))
        #expect(a.ranges("ports").isEmpty)
    }

    @Test func hostileSizesNeitherOverflowNorCrawl() throws {
        // Every other port, listed backwards: 32768 separate ranges, built by one sort.
        let ranges = stride(from: 65534, through: 0, by: -2).map { ValueRange(begin: $0, end: $0) }
        let odd = try ResourceSet([.ranges("ports", ranges)], at: "resources")
        #expect(odd.ranges("ports").intervals.count == 32768)
        #expect(odd.ranges("ports").intervals.first == 0...0)
        let even = RangeList(stride(from: 1, through: 65535, by: 2).map { $0...$0 })
        var all = odd.ranges("ports")
        all.formUnion(even)
        #expect(all.intervals == [0...65535])

        // Sums of the largest scalars stop at a ceiling instead of trapping.
        let huge = Array(repeating: Resource.scalar("mem", Resource.maxScalar), count: 20_000)
        let total = try ResourceSet(huge, at: "resources")
        #expect(total.milli("mem") == Int64.max / 4)
        #expect(total.contains(.scalar("mem", Resource.maxScalar)))
    }

    @Test func wireFormRoundTripsAndRefusesMalformedResources() throws {
        let wire: [Resource] = [
            .scalar("cpus", 1.5), .scalar("cpus", 0.5), .scalar("mem", 512, role: "web"),
            .ranges("ports", [ValueRange(begin: 31005, end: 31009), ValueRange(begin: 31000, end: 31004)]),
            .set("zones", ["b", "a"]),
        ]
        let set = try ResourceSet(wire, at: "resources")
        #expect(set.scalar("cpus") == 2)
        #expect(set.resources == [
            .scalar("cpus", 2), .scalar("mem", 512, role: "web"),
            .ranges("ports", [ValueRange(begin: 31000, end: 31009)]), .set("zones", ["a", "b"]),
        ])
        #expect(try ResourceSet(set.resources, at: "x") == set)

        func problem(_ resources: [Resource]) -> String? {
            apiFailure { () throws(APIError) in try ResourceSet(resources, at: "resources") }?.description
        }
        #expect(problem([Resource(name: "cpus", type: .scalar)]) == "resources[0].scalar: required for a resource of type scalar")
        #expect(problem([Resource(name: "cpus", type: .scalar, scalar: 1, ranges: [])]) == "resources[0].ranges: not allowed for a resource of type scalar")
        #expect(problem([.scalar("cpus", -1)]) == "resources[0].scalar: must be between 0 and 1099511627776, got -1")
        #expect(problem([.scalar("cpus", 1), .ranges("ports", [ValueRange(begin: 10, end: 5)])])
            == "resources[1].ranges[0]: begin must not exceed end, got 10-5")
        #expect(problem([.ranges("ports", [ValueRange(begin: 1, end: 70000)])]) == "resources[0].ranges[0]: must lie within 0-65535, got 1-70000")
        #expect(problem([.scalar("CPUs", 1)]) == #"resources[0].name: must match [a-z][a-z0-9_.-]{0,63}, got "CPUs""#)
        #expect(problem([.scalar("cpus", 1, role: "")]) == #"resources[0].role: must be "*" or match [a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}, got """#)
        #expect(problem([.set("zones", [""])]) == #"resources[0].set[0]: must be 1 to 256 characters without NUL, got """#)

        let decoded = apiFailure { () throws(APIError) in
            try APIJSON.decode([Resource].self, from: Data(#"[{"name": "cpus", "type": "float", "scalar": 1}]"#.utf8))
        }
        #expect(decoded?.description == #"[0].type: unknown resource type "float" (expected scalar, ranges or set)"#)
    }
}
