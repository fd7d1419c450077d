/// libFuzzer's driver, linked from `libclang_rt.fuzzer_no_main` by
/// scripts/fuzz.sh. The fuzz targets are SwiftPM executables, whose entry
/// point SwiftPM names `<Target>_main`; each defines that function and hands
/// its arguments and its test function to the driver, rather than linking
/// libFuzzer's own `main` (which would clash with SwiftPM's).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer with the process's arguments on `test`, which must return
/// 0 and may throw nothing: a trap in it is the finding.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, test)
}
