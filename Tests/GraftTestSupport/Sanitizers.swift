import Foundation

/// Whether the tests run under ThreadSanitizer (`make tsan` sets TSAN_OPTIONS): a debug build 5–15×
/// slower, with an allocator whose layout keeps some of libhdf5's out-of-bounds reads from faulting.
public var runningUnderThreadSanitizer: Bool { ProcessInfo.processInfo.environment["TSAN_OPTIONS"] != nil }
