import BerthLinux
import Testing

@Suite struct DeadlineTests {
    @Test("a deadline counts down on the monotonic clock, and saturates instead of overflowing")
    func countsDown() {
        #expect(Deadline.after(.zero).hasPassed)
        #expect(Deadline.after(.seconds(-5)).remaining == .zero)
        let hour = Deadline.after(.seconds(3600))
        #expect(!hour.hasPassed)
        #expect(hour.remaining > .seconds(3599) && hour.remaining <= .seconds(3600))
        #expect(Deadline.after(.milliseconds(1500)) < hour)
        // Longer than the clock can count: still in the future, never wrapped into the past.
        let forever = Deadline.after(.seconds(Int64.max))
        #expect(!forever.hasPassed && forever > hour)
    }
}
