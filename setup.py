"""Maps the source folders engine/, gui/ and resources/ onto the packages partita.engine,
partita.gui and partita.resources (data files only: the icon and the desktop entry).

Metadata lives in pyproject.toml; only the package list is computed here, so a new
subpackage needs no edit anywhere.
"""

from setuptools import find_packages, setup

ROOTS = {"engine": "partita.engine", "gui": "partita.gui", "resources": "partita.resources"}

packages, package_dir = [], {}
for folder, dotted in ROOTS.items():
    packages.append(dotted)
    package_dir[dotted] = folder
    for sub in find_packages(folder):
        packages.append(f"{dotted}.{sub}")
        package_dir[f"{dotted}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"

setup(packages=packages, package_dir=package_dir, include_package_data=True)
