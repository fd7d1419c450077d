/// How alike two scorings rank the same items — the test a tabular benchmark
/// must pass to be a ground truth: trained under another seed, its
/// architectures should come out in nearly the same order (DESIGN §6).
public struct RankAgreement: Codable, Sendable, Equatable {
    /// Kendall's τ-b (ties in either scoring accounted for, as scipy's `kendalltau`).
    public var kendallTau: Double
    /// Spearman's ρ: Pearson's correlation of the ranks, ties at their average rank.
    public var spearmanRho: Double
    /// How many of the first scoring's five best are among the second's five best.
    public var topFiveOverlap: Int

    enum CodingKeys: String, CodingKey { case kendallTau = "kendall_tau", spearmanRho = "spearman_rho", topFiveOverlap = "top5_overlap" }

    public init(_ a: [Double], _ b: [Double]) {
        precondition(a.count == b.count && a.count >= 2, "RankAgreement: two scorings of the same items, at least two")
        kendallTau = Self.kendallTau(a, b)
        spearmanRho = Self.pearson(Self.ranks(a), Self.ranks(b))
        let best = { (x: [Double]) in Set(x.indices.sorted { x[$0] > x[$1] }.prefix(5)) }
        topFiveOverlap = best(a).intersection(best(b)).count
    }

    static func kendallTau(_ a: [Double], _ b: [Double]) -> Double {
        var concordant = 0.0, discordant = 0.0, tiedA = 0.0, tiedB = 0.0
        for i in a.indices {
            for j in (i + 1)..<a.count {
                let da = a[i] - a[j], db = b[i] - b[j]
                if da == 0 && db == 0 { continue }
                if da == 0 { tiedA += 1 } else if db == 0 { tiedB += 1 } else if (da > 0) == (db > 0) { concordant += 1 } else { discordant += 1 }
            }
        }
        let denominator = ((concordant + discordant + tiedA) * (concordant + discordant + tiedB)).squareRoot()
        return denominator > 0 ? (concordant - discordant) / denominator : .nan
    }

    /// 1-based ranks, ties at their average.
    static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var result = [Double](repeating: 0, count: x.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && x[order[end + 1]] == x[order[start]] { end += 1 }
            let rank = Double(start + end) / 2 + 1
            for k in start...end { result[order[k]] = rank }
            start = end + 1
        }
        return result
    }

    static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        let n = Double(a.count)
        let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for (x, y) in zip(a, b) {
            sab += (x - ma) * (y - mb)
            saa += (x - ma) * (x - ma)
            sbb += (y - mb) * (y - mb)
        }
        return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : .nan
    }
}
