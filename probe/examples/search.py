"""First-order DARTS on Fashion-MNIST with the dartscope probe wired in.

    python probe/examples/search.py                      # then: dartscope attach
    python probe/examples/search.py --device cuda        # on a GPU
    python probe/examples/search.py --world-size 2       # torch.distributed, 2 processes (gloo; nccl on CUDA)

The lines marked `# probe` are all the probe needs.
"""

import argparse
import math
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402
from supernet import PRIMITIVES, Supernet  # noqa: E402

from dartscope_probe import Probe  # probe  # noqa: E402


def arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="training images used (half search-train, half search-validation)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--space", choices=["darts", "s3"], default="darts", help="s3: none, skip_connect, sep_conv_3x3 (R-DARTS S3)")
    parser.add_argument("--alphas", choices=["shared", "per-layer"], default="shared",
                        help="per-layer: every cell its own α (the dashboard's per-layer softmax heatmaps)")
    parser.add_argument("--lr", type=float, default=0.025)
    parser.add_argument("--arch-lr", type=float, default=3e-4)
    parser.add_argument("--weight-decay", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process (0: torch's default)")
    parser.add_argument("--listen", default="127.0.0.1:7797", help="where the probe listens (HOST:PORT or unix:PATH)")
    parser.add_argument("--run-name", default="probe-example")
    parser.add_argument("--hessian-every", type=int, default=0, help="steps between eigenvalue measurements (0: epoch ends only)")
    parser.add_argument("--world-size", type=int, default=1, help="processes of a torch.distributed search")
    parser.add_argument("--port", type=int, default=29511, help="torch.distributed rendezvous port")
    parser.add_argument("--no-probe", action="store_true", help="the same search without the probe (overhead measurements)")
    parser.add_argument("--probe-idle", action="store_true", help="construct the probe (its threads listen) but never call it (overhead measurements)")
    parser.add_argument("--probe-alternate", type=int, default=0, metavar="B",
                        help="call the probe only in every other block of B steps and report both blocks' median step "
                             "(overhead measurements: one process, so both sides share its noise)")
    parser.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: all epochs)")
    parser.add_argument("--no-eigenvalue", action="store_true", help="do not measure the α-Hessian's eigenvalue")
    return parser.parse_args(argv)


def accuracy(logits, labels):
    return (logits.argmax(1) == labels).float().mean()


def search(rank, args):
    if args.world_size > 1:
        backend = "nccl" if args.device.startswith("cuda") else "gloo"
        dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{args.port}", rank=rank, world_size=args.world_size)
        if args.device.startswith("cuda"):
            torch.cuda.set_device(rank)
            args.device = f"cuda:{rank}"
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    images, labels = fashion_mnist.load(args.images)
    half = len(images) // 2
    train, valid = (images[:half], labels[:half]), (images[half:], labels[half:])
    primitives = PRIMITIVES if args.space == "darts" else ["none", "skip_connect", "sep_conv_3x3"]
    model = Supernet(args.channels, args.layers, primitives=primitives, per_layer=args.alphas == "per-layer").to(device)
    weight_optimizer = torch.optim.SGD(model.weights(), args.lr, momentum=0.9, weight_decay=args.weight_decay)
    arch_optimizer = torch.optim.Adam(model.arch_parameters(), args.arch_lr, betas=(0.5, 0.999), weight_decay=1e-3)
    per_rank = args.batch_size * args.world_size
    steps_per_epoch = half // per_rank
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(weight_optimizer, args.epochs, eta_min=1e-3)

    restart = {}  # set by on_restore: the snapshot's step and epoch

    def restored(step, epoch):
        """The probe restored a snapshot (weights, α, optimisers, knobs):
        the loop goes on from its step, with the LR schedule at its epoch."""
        restart.update(step=step, epoch=epoch)
        schedule.last_epoch = epoch
        checksum = sum(float(p.detach().double().sum()) for p in model.parameters())
        print(f"rank {rank}: restored step {step}, epoch {epoch}, parameter sum {checksum:.15g}", flush=True)

    probe = None
    if not args.no_probe:
        probe = Probe(model, weight_optimizer=weight_optimizer, arch_optimizer=arch_optimizer,  # probe
                      listen=args.listen, run_name=args.run_name, space=args.space, dataset="fashion-mnist",
                      epochs=args.epochs, steps_per_epoch=steps_per_epoch, operations=primitives,
                      cells=model.cell_types(), hessian_every=args.hessian_every,
                      layer_weights=lambda: model.cell_weights,  # probe: per-layer α-gradients
                      network=model.dartscope_network(),  # probe: lets `dartscope hessian` rebuild it
                      on_restore=restored,  # probe: where the loop goes on after a :rollback
                      layer_arch_parameters=list(model.cell_alphas) if args.alphas == "per-layer" else None)  # probe: α per cell
        if args.probe_idle:
            idle, probe = probe, None
        elif not args.no_eigenvalue:
            fixed = valid[0][: args.batch_size].to(device), valid[1][: args.batch_size].to(device)
            probe.curvature(lambda: F.cross_entropy(model(fixed[0]), fixed[1]), batch=fixed)  # probe: the α-Hessian's batch

    step, epoch, first = 0, 0, 0
    step_times = []  # search step plus what the probe adds to it, epoch ends excluded
    probe_seconds = 0.0  # inside the probe's per-step calls (its direct cost)
    called, uncalled = [], []  # --probe-alternate: step times with and without the probe's calls
    started = time.perf_counter()
    while epoch < args.epochs:
        model.train()
        # Each epoch's order comes from its number, so a rollback draws it again.
        generator = torch.Generator().manual_seed(args.seed * 1_000_003 + epoch)
        order_train, order_valid = torch.randperm(half, generator=generator), torch.randperm(half, generator=generator)
        sums, taken = torch.zeros(2), 0
        for index in range(first, steps_per_epoch):
            step_started = time.perf_counter()
            # --probe-alternate: blocks of B steps with the probe's calls, then B without.
            calling = probe if not args.probe_alternate or (step // args.probe_alternate) % 2 == 0 else None
            # Each rank takes its own slice of the global batch.
            take = slice(index * per_rank + rank * args.batch_size, index * per_rank + (rank + 1) * args.batch_size)
            xv, yv = valid[0][order_valid[take]].to(device), valid[1][order_valid[take]].to(device)
            xt, yt = train[0][order_train[take]].to(device), train[1][order_train[take]].to(device)

            arch_optimizer.zero_grad()
            logits = model(xv)
            valid_loss = F.cross_entropy(logits, yv)
            valid_loss.backward()
            average_gradients(model.arch_parameters(), args.world_size)
            arch_optimizer.step()
            if calling:
                entered = time.perf_counter()
                probe.arch_step(valid_loss, accuracy(logits, yv))  # probe
                probe_seconds += time.perf_counter() - entered

            weight_optimizer.zero_grad()
            logits = model(xt)
            train_loss = F.cross_entropy(logits, yt)
            train_loss.backward()
            average_gradients(model.weights(), args.world_size)
            grad_norm = torch.nn.utils.clip_grad_norm_(model.weights(), 5.0)
            weight_optimizer.step()
            train_accuracy = accuracy(logits, yt)
            sums += torch.tensor([train_loss.item(), train_accuracy.item()])
            step, taken = step + 1, taken + 1
            if calling:
                entered = time.perf_counter()
                probe.weight_step(train_loss, train_accuracy, grad_norm=grad_norm,  # probe
                                  clip_factor=min(1.0, 5.0 / max(grad_norm.item(), 1e-12)))
                probe_seconds += time.perf_counter() - entered
            step_times.append(time.perf_counter() - step_started)
            if args.probe_alternate and (step - 1) % args.probe_alternate:  # a block's first step absorbs the switch
                (called if calling else uncalled).append(step_times[-1])
            if restart or (probe and probe.stopped):  # probe
                break
            if args.steps and step >= args.steps:
                break
        if not restart:
            schedule.step()
            valid_loss, valid_accuracy = evaluate(model, valid, args.batch_size, device)
            if rank == 0:
                print(f"epoch {epoch}: train loss {sums[0] / max(taken, 1):.3f}, valid acc {valid_accuracy:.3f}, "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
            if probe:
                probe.epoch_end(sums[0] / max(taken, 1), sums[1] / max(taken, 1), valid_loss, valid_accuracy)  # probe
        if restart:  # probe: a rollback or fork at this boundary
            step, epoch = restart["step"], restart["epoch"]
            first = step - epoch * steps_per_epoch
            restart.clear()
            continue
        if (probe and probe.stopped) or (args.steps and step >= args.steps):
            break
        epoch, first = epoch + 1, 0
    if probe:
        probe.close()  # probe
    if args.probe_idle:
        idle.close()
    if rank == 0:
        settled = sorted(step_times[5:]) or [math.nan]
        print(f"done: {step} steps in {time.perf_counter() - started:.1f} s; median step {1e3 * settled[len(settled) // 2]:.2f} ms "
              f"(after 5 warm-up steps; a paused step counts its pause); probe calls {1e3 * probe_seconds / max(step, 1):.3f} ms per step",
              flush=True)
        if args.probe_alternate:
            print(f"alternating blocks of {args.probe_alternate}: with probe calls median {1e3 * statistics.median(called or [math.nan]):.3f} ms "
                  f"({len(called)} steps), without {1e3 * statistics.median(uncalled or [math.nan]):.3f} ms ({len(uncalled)} steps)", flush=True)
    if args.world_size > 1:
        dist.destroy_process_group()


def average_gradients(parameters, world_size):
    if world_size > 1:
        for parameter in parameters:
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad)
                parameter.grad /= world_size


@torch.no_grad()
def evaluate(model, split, batch_size, device):
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(split[0]), 256):
        x, y = split[0][start: start + 256].to(device), split[1][start: start + 256].to(device)
        logits = model(x)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train()
    return total_loss / len(split[0]), correct / len(split[0])


def main(argv=None):
    args = arguments(argv)
    if args.world_size > 1:
        torch.multiprocessing.spawn(search, args=(args,), nprocs=args.world_size)
    else:
        search(0, args)


if __name__ == "__main__":
    main()
