// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "dartscope",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dartscope", targets: ["dartscope"]),
        .library(name: "DartsEngine", targets: ["DartsEngine"]),
        .library(name: "DartsTelemetry", targets: ["DartsTelemetry"]),
        .library(name: "Dashboard", targets: ["Dashboard"]),
        .library(name: "DartsReport", targets: ["DartsReport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CNCurses", path: "Sources/CNCurses"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "CKernels"),
        // The contract between a producer of metrics (the engine, a PyTorch
        // probe) and the dashboard: typed events, control commands, the
        // metrics store. Nothing numerical.
        .target(name: "DartsTelemetry"),
        .target(
            name: "DartsEngine",
            dependencies: [
                "DartsTelemetry", "CBLAS", "CZlib", "CKernels",
                .product(name: "RealModule", package: "swift-numerics"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .target(
            name: "Dashboard",
            dependencies: ["DartsTelemetry", "CNCurses"]
        ),
        // A search in another process: a PyTorch probe over a socket
        // (`dartscope attach`), or a metrics file (`dartscope view`).
        .target(name: "DartsRemote", dependencies: ["DartsTelemetry"]),
        // Reading metrics files back: run summaries, experiment tables, SVG figures.
        .target(name: "DartsReport", dependencies: ["DartsTelemetry"]),
        .executableTarget(
            name: "dartscope",
            dependencies: [
                "DartsEngine",
                "Dashboard",
                "DartsReport",
                "DartsRemote",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "DartsEngineTests",
            dependencies: ["DartsEngine"],
            exclude: ["Fixtures/make_state_dict_keys.py", "Fixtures/make_hessian_fixture.py"],
            resources: [.copy("Fixtures/state_dict_keys.json"), .copy("Fixtures/hessian_fixture.json")]
        ),
        // The dashboard tests use the engine's parameter table as a realistic producer's.
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "DartsTelemetry", "DartsEngine"]),
        .testTarget(name: "DartsTelemetryTests", dependencies: ["DartsTelemetry"]),
        .testTarget(name: "DartsReportTests", dependencies: ["DartsReport", "DartsTelemetry"]),
        // The probe's own words (recorded by probe/tests/record_session.py) must decode here.
        .testTarget(name: "DartsRemoteTests", dependencies: ["DartsRemote", "DartsTelemetry"],
                    resources: [.copy("Fixtures/probe_session.jsonl")]),
    ]
)

// libFuzzer targets for the readers of untrusted files, built only by
// scripts/fuzz.sh (which sets DARTSCOPE_FUZZ and the sanitizer flags): an
// executable whose entry point is libFuzzer's, not part of a normal build.
if Context.environment["DARTSCOPE_FUZZ"] != nil {
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/Support"))
    for reader in ["SafeTensors", "Manifest", "IDX"] {
        package.targets.append(.executableTarget(name: "Fuzz\(reader)", dependencies: ["DartsEngine", "FuzzSupport"], path: "Fuzz/\(reader)"))
    }
}
