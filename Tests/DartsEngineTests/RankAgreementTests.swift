import Testing
@testable import DartsEngine

/// Against scipy 1.17.1 (`scipy.stats.kendalltau`, `spearmanr`) on the same numbers.
@Suite("rank agreement")
struct RankAgreementTests {
    @Test func matchesScipyWithTies() {
        let agreement = RankAgreement([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])
        #expect(abs(agreement.kendallTau - -0.4714045207910316) < 1e-12)
        #expect(abs(agreement.spearmanRho - -0.5407380704358752) < 1e-12)
    }

    @Test func matchesScipyWithoutTies() {
        let a = [0.61, 0.55, 0.70, 0.42, 0.58, 0.66, 0.49], b = [0.60, 0.57, 0.69, 0.45, 0.52, 0.67, 0.50]
        let agreement = RankAgreement(a, b)
        #expect(abs(agreement.kendallTau - 0.9047619047619049) < 1e-12)
        #expect(abs(agreement.spearmanRho - 0.9642857142857145) < 1e-12)
        #expect(agreement.topFiveOverlap == 5)  // {2, 5, 0, 4, 1} both times, in a different order
        let shifted = RankAgreement(a, [0.60, 0.57, 0.69, 0.45, 0.40, 0.67, 0.50])  // item 4 drops to last
        #expect(shifted.topFiveOverlap == 4)
    }

    @Test func identicalAndReversedOrders() {
        let x = [0.1, 0.4, 0.2, 0.9, 0.5, 0.3]
        #expect(RankAgreement(x, x) == RankAgreement(x, x.map { $0 * 2 + 1 }))
        #expect(RankAgreement(x, x).kendallTau == 1 && RankAgreement(x, x).spearmanRho == 1 && RankAgreement(x, x).topFiveOverlap == 5)
        #expect(RankAgreement(x, x.map { -$0 }).kendallTau == -1)
    }
}
