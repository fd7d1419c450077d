/// Stops the program with `message` when `condition` is false.
///
/// Like `precondition`, but the message survives optimised builds: Swift drops
/// `precondition` messages under `-O`, and a user whose run stops on a shape
/// mismatch must see which op and which shapes, not a bare trap.
@inline(__always)
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
