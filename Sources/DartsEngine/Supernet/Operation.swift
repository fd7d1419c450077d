/// The candidate operations of a mixed edge, named as in the DARTS and R-DARTS
/// reference code (`operations.py`), so genotypes paste into existing code.
public enum Operation: String, CaseIterable, Codable, Sendable {
    case none
    case maxPool3x3 = "max_pool_3x3"
    case avgPool3x3 = "avg_pool_3x3"
    case skipConnect = "skip_connect"
    case sepConv3x3 = "sep_conv_3x3"
    case sepConv5x5 = "sep_conv_5x5"
    case dilConv3x3 = "dil_conv_3x3"
    case dilConv5x5 = "dil_conv_5x5"
    case noise

    /// Operations without weights: the ones DARTS drifts towards as it collapses.
    public var isParameterFree: Bool {
        switch self {
        case .none, .maxPool3x3, .avgPool3x3, .skipConnect, .noise: true
        case .sepConv3x3, .sepConv5x5, .dilConv3x3, .dilConv5x5: false
        }
    }

    /// Kernel size of the (separable or dilated) convolutions.
    var kernelSize: Int {
        switch self {
        case .sepConv5x5, .dilConv5x5: 5
        default: 3
        }
    }
}
