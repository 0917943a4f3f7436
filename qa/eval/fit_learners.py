"""The learners `qa fit` uses (qa/eval/fit.py): a logistic regression on standardised signals, a conditional logit
over a question's candidates, and LightGBM's LambdaRank written out as plain trees (qa/answer/model.py)."""

from __future__ import annotations

import numpy as np

from qa.answer.model import LinearModel, TreeEnsemble, pack_trees

REGULARISATION = 1.0  # scikit-learn's C


def fit_linear(values: np.ndarray, labels: np.ndarray, weights: np.ndarray, names: tuple[str, ...], without: frozenset[str] = frozenset()) -> LinearModel:
    """A logistic regression on standardised signals; signals in ``without`` get no weight at all."""
    from sklearn.linear_model import LogisticRegression

    used = [i for i, name in enumerate(names) if name not in without]
    mean, scale = values.mean(0), values.std(0)
    scale[scale < 1e-9] = 1.0
    standard = (values - mean) / scale
    regression = LogisticRegression(C=REGULARISATION, max_iter=5000)
    regression.fit(standard[:, used], labels, sample_weight=weights * len(weights) / weights.sum())  # mean weight 1
    coefficients = np.zeros(len(names))
    coefficients[used] = regression.coef_[0]
    for i in set(range(len(names))) - set(used):
        mean[i], scale[i] = 0.0, 1.0
    return LinearModel(names, mean, scale, coefficients, float(regression.intercept_[0]))


def fit_listwise(groups: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray, names: tuple[str, ...], without: frozenset[str] = frozenset()) -> LinearModel:
    """A conditional logit: the coefficients that maximise, over questions, the weighted log-probability
    that the softmax over a question's candidates picks one that holds the evidence (L2-penalised)."""
    from scipy.optimize import minimize

    values = np.concatenate([g for g, _ in groups])
    mean, scale = values.mean(0), values.std(0)
    scale[scale < 1e-9] = 1.0
    used = np.array([name not in without for name in names])
    standard = [((g - mean) / scale)[:, used] for g, _ in groups]
    penalty = 1.0 / (REGULARISATION * len(groups))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, gradient = penalty * 0.5 * w @ w, penalty * w
        for x, (_, labels), weight in zip(standard, groups, weights):
            scores = x @ w
            p_all = np.exp(scores - scores.max())
            p_all /= p_all.sum()
            p_pos = np.where(labels, p_all, 0.0)
            share = p_pos.sum()
            total -= weight * np.log(share)
            gradient += weight * (x.T @ p_all - x.T @ (p_pos / share))
        return total / len(groups), gradient / len(groups)

    result = minimize(loss, np.zeros(int(used.sum())), jac=True, method="L-BFGS-B")
    coefficients = np.zeros(len(names))
    coefficients[used] = result.x
    mean[~used], scale[~used] = 0.0, 1.0
    return LinearModel(names, mean, scale, coefficients, 0.0)


RANKER_GRID = ({"n_estimators": 100, "num_leaves": 7}, {"n_estimators": 300, "num_leaves": 7}, {"n_estimators": 300, "num_leaves": 15})
# One thread: the trees are small, and LightGBM's threads spin against the reader's and NumPy's for the same two
# cores (a ranker fitted while the reader reads took 20 times as long); the fit is then the same on every machine.
RANKER_FIXED = {"learning_rate": 0.05, "min_child_samples": 50, "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "random_state": 0, "verbose": -1,
                "n_jobs": 1}


def fit_trees(groups: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray, names: tuple[str, ...], parameters: dict, without: frozenset[str] = frozenset()) -> TreeEnsemble:
    """LightGBM's LambdaRank over the questions' candidates, written out as plain trees (qa/answer/model.py)."""
    import lightgbm

    values = np.concatenate([g for g, _ in groups])
    if without:
        values = values.copy()
        values[:, [i for i, name in enumerate(names) if name in without]] = 0.0
    labels = np.concatenate([y for _, y in groups]).astype(int)
    ranker = lightgbm.LGBMRanker(**RANKER_FIXED, **parameters)
    ranker.fit(values, labels, group=[len(y) for _, y in groups], sample_weight=np.repeat(weights, [len(y) for _, y in groups]))
    return pack_trees(names, trees_from_lightgbm(ranker.booster_.dump_model(), names))


def trees_from_lightgbm(dump: dict, names: tuple[str, ...]) -> list[list]:
    """LightGBM's nested tree dump as node lists: [signal, threshold, left, right] or a leaf value."""
    trees = []
    for info in dump["tree_info"]:
        nodes: list = []

        def visit(node: dict) -> int:
            at = len(nodes)
            nodes.append(None)
            if "leaf_value" in node:
                nodes[at] = float(node["leaf_value"])
                return at
            if node["decision_type"] != "<=" or node.get("missing_type") not in ("None", "NaN"):
                raise ValueError(f"unsupported LightGBM split {node['decision_type']} / {node.get('missing_type')}")
            left, right = visit(node["left_child"]), visit(node["right_child"])
            nodes[at] = [names[node["split_feature"]], float(node["threshold"]), left, right]
            return at

        visit(info["tree_structure"])
        trees.append(nodes)
    return trees
