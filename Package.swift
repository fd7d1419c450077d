// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "dartscope",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "dartscope", targets: ["dartscope"]),
        .library(name: "DartsEngine", targets: ["DartsEngine"]),
        .library(name: "Dashboard", targets: ["Dashboard"]),
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
        .target(
            name: "DartsEngine",
            dependencies: [
                "CBLAS", "CZlib", "CKernels",
                .product(name: "RealModule", package: "swift-numerics"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .target(
            name: "Dashboard",
            dependencies: ["DartsEngine", "CNCurses"]
        ),
        .executableTarget(
            name: "dartscope",
            dependencies: [
                "DartsEngine",
                "Dashboard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "DartsEngineTests",
            dependencies: ["DartsEngine"],
            exclude: ["Fixtures/make_state_dict_keys.py", "Fixtures/make_hessian_fixture.py"],
            resources: [.copy("Fixtures/state_dict_keys.json"), .copy("Fixtures/hessian_fixture.json")]
        ),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "DartsEngine"]),
    ]
)
