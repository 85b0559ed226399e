"""Installs the autorec package into the running Python (a venv's, or Debian's with --user), offline:

    python3 -m venv --system-site-packages .venv      # sees Debian's numpy (python3-numpy)
    .venv/bin/pip install --no-build-isolation --no-index ./python

The compiled part is built by CMake from the repository's top level for this interpreter (scripts/setup
installs what it needs: pybind11-dev, python3-dev, and the C++ dependencies). AUTOREC_BUILD_DIR names a
build folder to reuse (one configured with AUTOREC_PYTHON=ON for the same Python), which skips the build.
"""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


class CMakeExtension(Extension):
    def __init__(self):
        super().__init__("autorec._autorec", sources=[])


class CMakeBuild(build_ext):
    """Builds the CMake target autorec-python and puts the module where setuptools expects it."""

    def build_extension(self, ext):
        target = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve()
        reuse = os.environ.get("AUTOREC_BUILD_DIR")
        build = pathlib.Path(reuse).resolve() if reuse else pathlib.Path(self.build_temp).resolve() / "cmake"
        if not reuse:
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                            f"-DPython_EXECUTABLE={sys.executable}", "-DAUTOREC_PYTHON=ON", "-DAUTOREC_CUDA=OFF",
                            "-DAUTOREC_BUILD_TESTS=OFF", "-DAUTOREC_BUILD_TOOLS=OFF", "-DAUTOREC_INSTALL=OFF"],
                           check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "autorec-python", "-j", str(os.cpu_count() or 2)],
                       check=True)
        built = sorted((build / "python" / "autorec").glob("_autorec*.so"))
        if not built:
            sys.exit(f"setup.py: no _autorec module in {build}/python/autorec after the build")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    name="autorec",
    version="0.1.0",
    description="AutoRec rating prediction (train, serve, evaluate) on autorec's C++ engine",
    packages=["autorec"],
    package_data={"autorec": ["*.pyi", "py.typed"]},
    ext_modules=[CMakeExtension()],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
    install_requires=["numpy"],
    zip_safe=False,
)
