"""Connection dialog: profiles, security settings, Test connection. Storage and tests run on the
task thread; secrets go to the keyring only (see services.profiles)."""

from __future__ import annotations

from partita.gui.services import connection_test, profiles
from partita.gui.services.settings import SASL_MECHANISMS, SECURITY_PROTOCOLS, ConnectionSettings

from .bindings import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from .bridge import TaskRunner


class _PathEdit(QWidget):
    def __init__(self, caption: str, parent=None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        button = QPushButton("…", self)
        button.setFixedWidth(28)
        button.clicked.connect(lambda: self._browse(caption))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(button)

    def _browse(self, caption: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, caption)
        if path:
            self.edit.setText(path)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, t: str) -> None:  # noqa: N802 - Qt naming
        self.edit.setText(t)


class ConnectionDialog(QDialog):
    test_finished = Signal(object)  # connection_test.TestResult
    saved = Signal(str)

    def __init__(self, tasks: TaskRunner, store: profiles.ProfileStore | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to a Kafka cluster")
        self.tasks = tasks
        self.store = store
        self.profile = QComboBox(self)
        self.profile.setEditable(False)
        self.profile.addItem("(new profile)")
        self.name = QLineEdit(self)
        self.bootstrap = QLineEdit("127.0.0.1:9092", self)
        self.protocol = QComboBox(self)
        self.protocol.addItems(SECURITY_PROTOCOLS)
        self.mechanism = QComboBox(self)
        self.mechanism.addItems(SASL_MECHANISMS)
        self.username = QLineEdit(self)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca = _PathEdit("CA certificate")
        self.cert = _PathEdit("Client certificate")
        self.key = _PathEdit("Client key")
        self.key_password = QLineEdit(self)
        self.key_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.zookeeper = QLineEdit(self)
        self.zookeeper.setPlaceholderText("optional, HOST:PORT[/chroot]")
        self.result = QLabel("", self)
        self.result.setObjectName("test-result")
        self.result.setWordWrap(True)
        self.keyring_note = QLabel("", self)
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setStyleSheet("color: #8a5a00")

        form = QFormLayout()
        form.addRow("Profile", self.profile)
        form.addRow("Name", self.name)
        form.addRow("Bootstrap servers", self.bootstrap)
        form.addRow("Security protocol", self.protocol)
        form.addRow("SASL mechanism", self.mechanism)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        form.addRow("CA certificate", self.ca)
        form.addRow("Client certificate", self.cert)
        form.addRow("Client key", self.key)
        form.addRow("Key password", self.key_password)
        form.addRow("ZooKeeper", self.zookeeper)

        self.test_button = QPushButton("Test connection", self)
        self.save_button = QPushButton("Save profile", self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, parent=self)
        self.connect_button = self.buttons.addButton("Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.test_button.clicked.connect(self.run_test)
        self.save_button.clicked.connect(self.save_profile)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.save_button)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(row)
        lay.addWidget(self.result)
        lay.addWidget(self.keyring_note)
        lay.addWidget(self.buttons)

        self.protocol.currentTextChanged.connect(self._update_enabled)
        self.profile.currentTextChanged.connect(self._load_profile)
        tasks.task_done.connect(self._on_done)
        tasks.task_failed.connect(self._on_failed)
        self._update_enabled()
        if store is not None:
            tasks.submit("dialog:names", lambda: (store.names(), profiles.keyring_problem()))

    # -- form <-> settings ---------------------------------------------------------------------

    def settings(self) -> ConnectionSettings:
        return ConnectionSettings(
            name=self.name.text().strip(),
            bootstrap=self.bootstrap.text().strip(),
            security_protocol=self.protocol.currentText(),
            sasl_mechanism=self.mechanism.currentText(),
            username=self.username.text(),
            password=self.password.text(),
            ssl_ca=self.ca.text(),
            ssl_cert=self.cert.text(),
            ssl_key=self.key.text(),
            ssl_key_password=self.key_password.text(),
            zookeeper=self.zookeeper.text().strip(),
        )

    def set_settings(self, s: ConnectionSettings) -> None:
        self.name.setText(s.name)
        self.bootstrap.setText(s.bootstrap)
        self.protocol.setCurrentText(s.security_protocol)
        self.mechanism.setCurrentText(s.sasl_mechanism)
        self.username.setText(s.username)
        self.password.setText(s.password)
        self.ca.setText(s.ssl_ca)
        self.cert.setText(s.ssl_cert)
        self.key.setText(s.ssl_key)
        self.key_password.setText(s.ssl_key_password)
        self.zookeeper.setText(s.zookeeper)

    def _update_enabled(self) -> None:
        proto = self.protocol.currentText()
        sasl = proto.startswith("SASL_")
        tls = proto in ("SSL", "SASL_SSL")
        for w in (self.mechanism, self.username, self.password):
            w.setEnabled(sasl)
        for w in (self.ca, self.cert, self.key, self.key_password):
            w.setEnabled(tls)

    # -- actions -------------------------------------------------------------------------------

    def run_test(self) -> None:
        s = self.settings()
        self.result.setText("Testing…")
        self.test_button.setEnabled(False)
        self.tasks.submit("dialog:test", lambda: connection_test.test_connection(s))

    def save_profile(self) -> None:
        if self.store is None:
            return
        s = self.settings()
        store = self.store
        self.tasks.submit("dialog:save", lambda: (store.save(s), s.name)[1])

    def _load_profile(self, name: str) -> None:
        if self.store is None or name == "(new profile)" or not name:
            return
        store = self.store
        self.tasks.submit("dialog:load", lambda: store.load(name))

    def _on_done(self, name: str, result) -> None:
        if name == "dialog:test":
            self.test_button.setEnabled(True)
            mark = "✔" if result.ok else "✘"
            color = "#1b5e20" if result.ok else "#b3261e"
            detail = f"<br><small>{result.detail}</small>" if result.detail else ""
            self.result.setText(f"<span style='color:{color}'>{mark} {result.message}</span>{detail}")
            self.test_finished.emit(result)
        elif name == "dialog:names":
            names, problem = result
            for n in names:
                if self.profile.findText(n) < 0:
                    self.profile.addItem(n)
            if problem:
                self.keyring_note.setText(problem)
        elif name == "dialog:save":
            if self.profile.findText(result) < 0:
                self.profile.addItem(result)
            self.result.setText(f"Saved profile “{result}” (secrets in the OS keyring).")
            self.saved.emit(result)
        elif name == "dialog:load":
            self.set_settings(result)

    def _on_failed(self, name: str, message: str) -> None:
        if name.startswith("dialog:"):
            self.test_button.setEnabled(True)
            self.result.setText(f"<span style='color:#b3261e'>✘ {message}</span>")
            if name == "dialog:test":
                self.test_finished.emit(connection_test.TestResult(False, "error", message))
