require ["fileinto","copy"];
# rule:[Papers]
if header :contains "subject" "[JOURNAL]"
{
	fileinto "Papers";
}
# rule:[backup]
if true
{
	redirect :copy "wf.backup@mailsafe.example.com";
}
