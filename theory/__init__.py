"""OSGM on convex problems: algorithms, test problems, bound checks and the benchmark protocol.

Reproduces and verifies "Gradient Methods with Online Scaling" (Gao, Chu, Ye, Udell; COLT 2025,
arXiv 2411.01803), its Part I "Theoretical Foundations" (arXiv 2505.23081) and Part II "Practical Aspects"
(arXiv 2509.11007), and "Provable and Practical Online Learning Rate Adaptation with Hypergradient Descent"
(Chu, Gao, Ye, Udell; ICML 2025, arXiv 2502.11229), and links them to the UBA schedule (Tang et al.,
"Stepsize anything", arXiv 2505.24452). numpy/scipy (cvxpy only to cross-check the diagonal-preconditioner
SDP), plus two helpers shared with the training code (``stepsize.schedules.uba_fraction``,
``stepsize.data.fashion_mnist.read_idx``).

CLI: ``python -m theory check|bench|figures`` (see ``theory.__main__``); ``bench --protocol official``
runs the authors' benchmark call for call (``theory.protocols``).
"""
