import DartsEngine
import Foundation
import FuzzSupport

/// Fuzzes the IDX reader: the input's first byte chooses which file it
/// becomes (images or labels, plain or gzip-compressed as written), the
/// other file is a valid one of 3 images, and the pair is loaded as
/// Fashion-MNIST. Loading must succeed or throw — never trap, and never
/// allocate beyond what the header declares within the reader's bound.
private let folder: String = {
    let folder = NSTemporaryDirectory() + "fuzz-idx-\(getpid())"
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
}()

private func header(_ words: [UInt32]) -> [UInt8] {
    words.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) } }
}

private let validImages = header([0x0803, 3, 4, 4]) + [UInt8](repeating: 7, count: 48)
private let validLabels = header([0x0801, 3]) + [0, 1, 2]

@_cdecl("FuzzIDX_main")
public func fuzzerEntry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzIDX)
}

private func fuzzIDX(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let bytes = data, count > 0 else { return 0 }
    let input = Data(bytes: bytes + 1, count: count - 1)
    let fuzzedImages = bytes[0] & 1 == 0
    let images = fuzzedImages ? input : Data(validImages)
    let labels = fuzzedImages ? Data(validLabels) : input
    _ = FileManager.default.createFile(atPath: folder + "/train-images-idx3-ubyte", contents: images)
    _ = FileManager.default.createFile(atPath: folder + "/train-labels-idx1-ubyte", contents: labels)
    _ = try? DatasetLoader.loadTrainingSet("fashion-mnist", directory: folder)
    return 0
}
