"""The shape of a class tree (a scipy linkage matrix) and its cuts "in merge order".

Every flat clustering classsim takes from a tree -- the taxonomy agreement's cut into as many
groups as a taxonomy level has (:func:`classsim_spark.core.taxonomy.tree_cut`), the blocks of
fixed levels and of the modularity search (:mod:`classsim_spark.core.structure`) -- is the same
one: the clusters present after the first merges of ``Z``, i.e. its last merges undone, latest
first. For a monotone linkage without tied heights that is a cut at a height; where heights tie,
the row order of ``Z`` (the order the algorithm merged in) decides, so there are always exactly
``k`` clusters; for non-monotone linkages (centroid, median) it is the state of the agglomeration.

Example
-------
>>> Z = np.array([[0, 1, 0.1, 2], [2, 3, 0.2, 2], [4, 5, 0.9, 4]])
>>> tree = Tree(Z)
>>> tree.leaves.tolist(), tree.cut(tree.root, 2)
([0, 1, 2, 3], [4, 5])
>>> tree.labels(3).tolist()
[1, 1, 2, 3]
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

import numpy as np


class Tree:
    """Children, parents, sizes, heights and leaf runs of every node of a linkage tree.

    Node ``i < m`` is class ``i``; node ``m + j`` is row ``j`` of ``Z``. The leaves are laid out
    left child first (as ``scipy.cluster.hierarchy.leaves_list``), so every node's classes are a
    contiguous run ``leaves[start : start + size]``.

    Parameters
    ----------
    Z : ndarray, shape (m - 1, 4)
        A valid linkage matrix (not checked here; the public functions that take one do).
    """

    def __init__(self, Z: np.ndarray) -> None:
        m = Z.shape[0] + 1
        self.m = m
        self.Z = Z
        n_nodes = 2 * m - 1
        self.children = np.full((n_nodes, 2), -1, dtype=np.int64)
        self.children[m:] = Z[:, :2].astype(np.int64)
        self.parent = np.full(n_nodes, -1, dtype=np.int64)
        self.size = np.ones(n_nodes, dtype=np.int64)
        self.height = np.zeros(n_nodes)
        self.height[m:] = Z[:, 2]
        for j in range(m - 1):
            a, b = self.children[m + j]
            self.parent[a] = self.parent[b] = m + j
            self.size[m + j] = self.size[a] + self.size[b]
        self.start = np.zeros(n_nodes, dtype=np.int64)
        for node in range(n_nodes - 1, m - 1, -1):
            a, b = self.children[node]
            self.start[a] = self.start[node]
            self.start[b] = self.start[node] + self.size[a]
        self.leaves = np.empty(m, dtype=np.int64)
        self.leaves[self.start[:m]] = np.arange(m)

    @property
    def root(self) -> int:
        return 2 * self.m - 2

    def members(self, node: int) -> np.ndarray:
        """The classes under ``node``, in leaf order."""
        s = self.start[node]
        return self.leaves[s : s + self.size[node]]

    def ancestors(self, node: int) -> list[int]:
        """``node`` and every node above it, up to the root."""
        out = []
        while node >= 0:
            out.append(int(node))
            node = int(self.parent[node])
        return out

    def splits(self, node: int, max_clusters: int) -> Iterator[tuple[int, set[int]]]:
        """Split ``node`` into its first clusters in merge order (latest merge first).

        Yields ``(split_node, frontier)`` after each split, ``frontier`` the set of current
        cluster nodes (updated in place), for ``k = 2 .. max_clusters`` clusters.
        """
        heap = [-node] if node >= self.m else []
        frontier = {int(node)}
        k = 1
        while heap and k < max_clusters:
            top = -heapq.heappop(heap)
            frontier.remove(top)
            for child in self.children[top]:
                frontier.add(int(child))
                if child >= self.m:
                    heapq.heappush(heap, -int(child))
            k += 1
            yield top, frontier

    def cut(self, node: int, k: int) -> list[int]:
        """The first ``k`` clusters of ``node``'s subtree in merge order (fewer if it is small),
        as sorted node numbers."""
        clusters = [int(node)]
        for _, frontier in self.splits(node, k):
            clusters = sorted(frontier)
        return clusters

    def labels(self, k: int) -> np.ndarray:
        """Cluster numbers 1..k of every class in the first ``k`` clusters of the whole tree,
        numbered left to right along the leaves."""
        clusters = sorted(self.cut(self.root, k), key=lambda node: self.start[node])
        labels = np.empty(self.m, dtype=np.int64)
        for number, node in enumerate(clusters, start=1):
            labels[self.members(node)] = number
        return labels
