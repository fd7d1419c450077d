/// Eigenvalues of small symmetric matrices by the cyclic Jacobi method:
/// plenty for the Lanczos tridiagonal and for the full α-Hessian (at most a
/// few hundred rows), with no LAPACK dependency.
public enum SymmetricEigen {
    /// Eigenvalues in ascending order. `matrix` is symmetrised first
    /// ((A + Aᵀ)/2), so a finite-difference Hessian's asymmetry does no harm.
    public static func eigenvalues(_ matrix: [[Double]], tolerance: Double = 1e-12, maxSweeps: Int = 100) -> [Double] {
        let n = matrix.count
        guard n > 0 else { return [] }
        require(matrix.allSatisfy { $0.count == n }, "SymmetricEigen: matrix is not square")
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { a[i * n + j] = 0.5 * (matrix[i][j] + matrix[j][i]) } }
        let scale = max(a.map(abs).max() ?? 0, 1e-300)
        for _ in 0..<maxSweeps {
            var offDiagonal = 0.0
            for i in 0..<n { for j in (i + 1)..<n { offDiagonal += a[i * n + j] * a[i * n + j] } }
            if offDiagonal.squareRoot() <= tolerance * scale { break }
            for p in 0..<n {
                for q in (p + 1)..<n where abs(a[p * n + q]) > 1e-300 {
                    let app = a[p * n + p], aqq = a[q * n + q], apq = a[p * n + q]
                    let theta = (aqq - app) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                }
            }
        }
        return (0..<n).map { a[$0 * n + $0] }.sorted()
    }
}
