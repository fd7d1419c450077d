import Foundation

extension SearchEngine {
    /// Hessian-vector products of ∇²α L_val + arch-L2·I on `batch` with the
    /// run's finite-difference step.
    func curvatureProducts(on batch: Batch, noise: RandomGenerator) -> HessianVectorProducts<Float> {
        HessianVectorProducts(supernet: supernet, input: batch.images, labels: batch.labels, noise: noise,
                              step: config.hessianStep, l2: config.archWeightDecay)
    }

    /// The dominant (largest algebraic) eigenvalue of ∇²α L_val + arch-L2·I
    /// on a validation batch of its own sampler (so diagnostics never shift
    /// the run's data order or random numbers), reported as a `hessian` event.
    @discardableResult
    func measureCurvature(atEpochEnd: Bool) -> Double {
        let started = Date()
        var noise = state.hessianSampler.generator
        let batch = pipeline.batch(state.hessianSampler.nextBatch(size: config.batchSize), augment: false, generator: &noise)
        var products = curvatureProducts(on: batch, noise: noise)
        let (value, iterations) = products.dominantEigenvalue(tolerance: config.hessianTolerance,
                                                             maxIterations: config.hessianMaxIterations, seed: UInt64(step))
        guard requireFinite(value, "the dominant α-Hessian eigenvalue") else { return value }
        emit(.hessian(HessianMetrics(eigenvalue: value, productCount: products.count, lanczosIterations: iterations,
                                     seconds: Date().timeIntervalSince(started), batchLoss: products.loss, atEpochEnd: atEpochEnd)))
        return value
    }

    /// The whole spectrum of ∇²α L_val + arch-L2·I on the batch the next
    /// eigenvalue measurement would use, beside the Lanczos estimate the run
    /// reports on the same batch: one HVP per α coordinate, so for small α
    /// (the tiny space, or a few hundred coordinates at most) and on demand.
    /// The run's own state, samplers included, is left as it was.
    public func curvatureSpectrum(progress: (Int, Int) -> Void = { _, _ in }) -> CurvatureSpectrum {
        let started = Date()
        var sampler = state.hessianSampler
        var noise = sampler.generator
        let indices = sampler.nextBatch(size: config.batchSize)
        let batch = pipeline.batch(indices, augment: false, generator: &noise)
        var products = curvatureProducts(on: batch, noise: noise)
        return CurvatureSpectrum(measuring: &products, started: started, tolerance: config.hessianTolerance,
                                 maxIterations: config.hessianMaxIterations, step: step, epoch: epoch, batchIndices: indices,
                                 progress: progress)
    }
}

/// The spectrum of the α-Hessian at one point of a run, with the cheap
/// estimate the run reports there, so a user can see how far to trust it.
public struct CurvatureSpectrum: Sendable {
    /// Ascending.
    public let eigenvalues: [Double]
    public let dimension: Int
    public let batchLoss: Double
    public let fullHessianProducts: Int
    public let fullHessianSeconds: Double
    /// The run's Lanczos estimate of the largest eigenvalue on the same batch.
    public let lanczosEigenvalue: Double
    public let lanczosProducts: Int
    public let step: Int
    public let epoch: Int
    /// The dataset indices of the validation batch the Hessian was taken on
    /// (so another implementation can use the same one).
    public let batchIndices: [Int]

    /// The full Hessian by `products` (one product per α coordinate), its
    /// spectrum, then the Lanczos estimate on the same products; the full
    /// Hessian's seconds count from `started`. `step` also seeds Lanczos.
    init(measuring products: inout HessianVectorProducts<Float>, started: Date, tolerance: Double, maxIterations: Int,
         step: Int, epoch: Int, batchIndices: [Int], progress: (Int, Int) -> Void) {
        let hessian = products.fullHessian(progress: progress)
        fullHessianSeconds = Date().timeIntervalSince(started)
        fullHessianProducts = products.count
        let lanczos = products.dominantEigenvalue(tolerance: tolerance, maxIterations: maxIterations, seed: UInt64(step))
        eigenvalues = SymmetricEigen.eigenvalues(hessian)
        dimension = hessian.count
        batchLoss = products.loss
        lanczosEigenvalue = lanczos.value
        lanczosProducts = products.count - fullHessianProducts
        (self.step, self.epoch, self.batchIndices) = (step, epoch, batchIndices)
    }

    public var dominant: Double { eigenvalues.last ?? .nan }
    /// |Lanczos − largest eigenvalue| / |largest eigenvalue|.
    public var lanczosRelativeError: Double { abs(lanczosEigenvalue - dominant) / max(abs(dominant), 1e-12) }
}
