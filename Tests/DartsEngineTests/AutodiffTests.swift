import DartsEngine
import Testing

@Suite("autodiff tape")
struct AutodiffTests {
    @Test func deliberatelyWrongBackwardIsCaught() {
        var data = TestData()
        // relu whose backward is 1 % too large: the checker must notice.
        let report = GradientChecker().check([data.normal([2, 3])]) { tape, v in
            let x = v[0]
            let y = Tensor(shape: x.shape, scalars: x.value.scalars.map { max($0, 0) })
            return tape.record(y, kind: .elementwise, inputs: [x]) { gradient in
                x.accumulateGradient(Tensor(shape: x.shape, scalars: zip(gradient.scalars, x.value.scalars).map { $1 > 0 ? 1.01 * $0 : 0 }))
            }
        }
        #expect(!report.passed)
        #expect(report.failures.count > 0)
    }

    @Test func droppedGradientIsCaught() {
        var data = TestData()
        // A sum whose backward forgets its second term.
        let report = GradientChecker().check([data.normal([3]), data.normal([3])]) { tape, v in
            var y = v[0].value
            y.add(v[1].value)
            return tape.record(y, kind: .elementwise, inputs: v) { gradient in v[0].accumulateGradient(gradient) }
        }
        #expect(!report.passed)
    }

    @Test func gradientsAccumulateOverReuseAndSkipConstants() {
        let tape = Tape<Double>()
        let x = tape.variable(Tensor(shape: [2], scalars: [1, -2]), requiresGrad: true)
        let c = tape.constant(Tensor(shape: [2], scalars: [5, 5]))
        let y = Variable.sum([x, x, c]).sumAll()
        tape.backward(from: y)
        #expect(x.grad?.scalars == [2, 2])
        #expect(c.grad == nil)
    }

    @Test func perCellCopiesExposeTheirOwnGradients() {
        // p is shared; each "cell" scales its input by its own copy p_l.
        let tape = Tape<Double>()
        let p = tape.variable(Tensor(shape: [2], scalars: [0.3, 0.7]), requiresGrad: true)
        let x = tape.constant(Tensor(shape: [1, 1, 1, 1], scalars: [2]))
        let p0 = p.copied(), p1 = p.copied()
        let h = x.scaled(byElement: 0, of: p0)  // h = 0.3·2 = 0.6
        let y = h.scaled(byElement: 1, of: p1).sumAll()  // y = p1[1]·p0[0]·2
        tape.backward(from: y)
        #expect(p0.grad?.scalars == [0.7 * 2, 0])
        #expect(p1.grad?.scalars == [0, 0.6])
        #expect(p.grad?.scalars == [1.4, 0.6])
    }

    @Test func independentTapesDoNotInterfere() {
        var data = TestData()
        let input = data.normal([1, 2, 4, 4])
        func gradient() -> Tensor<Double> {
            let tape = Tape<Double>()
            let x = tape.variable(input, requiresGrad: true)
            tape.backward(from: x.relu().maxPool(.init(stride: 2)).sumAll())
            return x.grad!
        }
        let first = gradient()
        #expect(first == gradient())
    }

    @Test func shapeMismatchStopsWithAMessageNamingTheOpAndShapes() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let tape = Tape<Float>()
            _ = Variable.sum([tape.constant(Tensor(zeros: [2, 3])), tape.constant(Tensor(zeros: [3, 2]))])
        }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let tape = Tape<Float>()
            _ = tape.constant(Tensor(zeros: [1, 3, 5, 5])).conv2d(weight: tape.constant(Tensor(zeros: [4, 2, 3, 3])), geometry: .init(kernelSize: 3))
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("conv2d"))
        #expect(message.contains("[1, 3, 5, 5]"))
        #expect(message.contains("[4, 2, 3, 3]"))
    }
}
