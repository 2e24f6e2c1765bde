"""Executing a notebook headless in this interpreter, whatever kernels Jupyter knows by name.

nbclient starts the kernel a notebook names ("python3"), and Jupyter resolves that name through its
kernel specs: a user-level spec of that name, left by another environment, wins over this one, and
the notebook then runs silently with other packages (another torch, another ``helpers``). Here the
name resolves to ipykernel's own spec for the running interpreter, as ``pytest --nbval-current-env``
does for the tests.
"""

from __future__ import annotations

from typing import Any

KERNEL_NAME = "python3"  # what the notebooks' metadata names


def this_interpreter_kernel_spec_manager() -> Any:
    """A ``KernelSpecManager`` in which ``python3`` is always ``sys.executable`` with ipykernel."""
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager

    class ThisInterpreter(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str):
            if kernel_name == KERNEL_NAME:
                return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                              **ipykernel.kernelspec.get_kernel_dict())
            return super().get_kernel_spec(kernel_name)

    return ThisInterpreter()


def notebook_client(nb: Any, **options: Any) -> Any:
    """An ``nbclient.NotebookClient`` for ``nb`` whose kernel is this interpreter (``sys.executable``);
    ``options`` go to the client (``timeout``, ``resources``, ``allow_errors``...). The client makes
    its own kernel manager from the class given here, so it shuts the kernel down after executing
    (a manager handed in would be left running, one idle kernel per notebook). Cells get no timing
    metadata (``record_timing``), so re-executing a notebook whose outputs are the same changes no line."""
    from jupyter_client import AsyncKernelManager
    from nbclient import NotebookClient
    from traitlets import default

    class ThisInterpreterKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self) -> Any:
            return this_interpreter_kernel_spec_manager()

    options.setdefault("record_timing", False)
    return NotebookClient(nb, kernel_name=KERNEL_NAME, kernel_manager_class=ThisInterpreterKernelManager,
                          **options)


# Run after a notebook's own cells, in its kernel: which helpers modules the notebook imported.
LOADED_MODULES_CELL = ("import json as _json, sys as _sys\n"
                       "print(_json.dumps(sorted(_n for _n, _m in list(_sys.modules.items()) if (_n == 'helpers' "
                       "or _n.startswith('helpers.')) and getattr(_m, '__file__', None))))")


def execute_and_list_modules(nb: Any, client: Any) -> list[str]:
    """Execute ``nb`` with ``client``, then list the helpers modules its kernel imported (dotted names);
    the extra cell that asks is removed again. Every cell's earlier timing metadata is dropped."""
    import json

    import nbformat

    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    nb.cells.append(nbformat.v4.new_code_cell(LOADED_MODULES_CELL))
    try:
        client.execute()
        outputs = nb.cells[-1].get("outputs", [])
        text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    finally:
        nb.cells.pop()
    return json.loads(text.strip().splitlines()[-1])
