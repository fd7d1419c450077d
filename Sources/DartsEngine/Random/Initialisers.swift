/// Parameter initialisation with PyTorch's defaults, so a fresh supernet
/// starts from the same distribution as the reference code's.
public enum Initialiser {
    /// `nn.Conv2d` / `nn.Linear` weight: Kaiming-uniform with a = √5, which
    /// reduces to U(−b, b) with b = 1/√fan_in; fan_in = shape[1]·(kernel area).
    public static func kaimingUniform<Scalar: TensorScalar>(
        shape: [Int], generator: inout RandomGenerator
    ) -> Tensor<Scalar> {
        uniform(shape: shape, bound: 1 / Double(fanIn(of: shape)).squareRoot(), generator: &generator)
    }

    /// `nn.Linear` / `nn.Conv2d` bias: U(−b, b) with b = 1/√fan_in of the weight.
    public static func bias<Scalar: TensorScalar>(
        count: Int, weightShape: [Int], generator: inout RandomGenerator
    ) -> Tensor<Scalar> {
        uniform(shape: [count], bound: 1 / Double(fanIn(of: weightShape)).squareRoot(), generator: &generator)
    }

    /// N(0, std²), e.g. DARTS's α = 1e-3·N(0, 1).
    public static func normal<Scalar: TensorScalar>(
        shape: [Int], standardDeviation: Double, generator: inout RandomGenerator
    ) -> Tensor<Scalar> {
        let count = shape.elementCount
        return Tensor(uninitializedShape: shape) { out in
            for i in 0..<count { out[i] = Scalar(standardDeviation * generator.nextStandardNormal()) }
        }
    }

    public static func uniform<Scalar: TensorScalar>(
        shape: [Int], bound: Double, generator: inout RandomGenerator
    ) -> Tensor<Scalar> {
        let count = shape.elementCount
        return Tensor(uninitializedShape: shape) { out in
            for i in 0..<count { out[i] = Scalar(generator.nextUniform(in: -bound..<bound)) }
        }
    }

    /// Inputs per output unit: `shape[1]` times the receptive field.
    public static func fanIn(of weightShape: [Int]) -> Int {
        require(weightShape.count >= 2, "fanIn: weight shape \(weightShape) has fewer than two axes")
        return weightShape.dropFirst().reduce(1, *)
    }
}
