import DartsEngine
import Foundation
import FuzzSupport

/// Any byte string given to the safetensors decoder must decode or throw:
/// a trap (overflow, index out of range, allocation failure) is a finding.
@_cdecl("FuzzSafeTensors_main")
public func fuzzerEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSafeTensors)
}

private func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes = data else { return 0 }
    _ = try? SafeTensors.decode(Data(bytes: bytes, count: count))
    return 0
}
