import BerthLinux
import Foundation
import Testing

@Suite struct TimestampTests {
    @Test func formatsUTCWithMilliseconds() {
        #expect(Timestamp.format(seconds: 0, milliseconds: 5) == "1970-01-01T00:00:00.005Z")
        #expect(Timestamp.format(seconds: 1_764_065_398, milliseconds: 123) == "2025-11-25T10:09:58.123Z")
        #expect(Timestamp.format(seconds: 951_782_400, milliseconds: 999) == "2000-02-29T00:00:00.999Z")
    }

    @Test func readsWhatItWrites() {
        #expect(Timestamp.seconds("1970-01-01T00:00:00.005Z") == 0.005)
        #expect(Timestamp.seconds("2025-11-25T10:09:58Z") == 1_764_065_398)
        #expect(Timestamp.seconds(Timestamp.format(seconds: 951_782_400, milliseconds: 250)) == 951_782_400.25)
        #expect(Timestamp.seconds("2024-02-29T23:59:59Z") == 1_709_251_199)
        for bad in ["", "2025-11-25", "2025-11-25T10:09:58", "2025-11-25T10:09:58.Z", "2025-1x-25T10:09:58Z", "2025-11-25 10:09:58Z",
                    "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-00-10T00:00:00Z",
                    "2025-04-31T00:00:00Z", "2025-11-25T24:00:00Z", "2025-11-25T10:60:00Z", "2025-11-25T10:09:60Z"] {
            #expect(Timestamp.seconds(bad) == nil, "\(bad)")
        }
    }

    @Test func agreesWithFoundationsFormatter() throws {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for seconds in [0, 68_256_000, 1_764_065_398, 4_102_444_799] {
            #expect(Timestamp.format(seconds: seconds, milliseconds: 0) == style.format(Date(timeIntervalSince1970: Double(seconds))))
        }
        // Every leap-year rule and month end from 1970 to 2100, at odd times of day.
        for seconds in stride(from: 0, through: 4_102_444_800, by: 86_400 * 7 + 3_917) {
            let text = Timestamp.format(seconds: seconds, milliseconds: 0)
            #expect(text == style.format(Date(timeIntervalSince1970: Double(seconds))))
            #expect(Timestamp.seconds(text) == Double(seconds))
        }
        let now = try style.parse(Timestamp.now())
        #expect(abs(now.timeIntervalSinceNow) < 60)
    }
}
