import BerthTestSupport

/// The machine and the binaries under test (BerthTestSupport).
typealias TestHost = TestEnvironment
